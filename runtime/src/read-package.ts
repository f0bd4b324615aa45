/**
 * A generated package folder as the runtime needs it: plan.json, manifest.json and the build/
 * binaries (the phases' kernels and the sampler's), each checked to exist and to be of a format
 * this runtime reads, with errors that say which file and what to run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BINARY_EXT } from '../../compiler/package/build-kernels.ts';
import type { Manifest } from '../../compiler/package/manifest.ts';
import { MANIFEST_FORMAT, parseManifest } from '../../compiler/package/manifest.ts';
import type { Plan } from '../../compiler/package/plan-format.ts';
import { isCollective, PLAN_FORMAT } from '../../compiler/package/plan-format.ts';

export class PackageError extends Error {
  readonly userFacing = true;
}

export interface ReadPackage {
  readonly dir: string;
  readonly plan: Plan;
  readonly manifest: Manifest;
  /** build/<instance><ext> for an instance name. */
  binaryOf(instance: string): string;
}

export function readPackage(dir: string): ReadPackage {
  const plan = readJson<Plan>(dir, 'plan.json', PLAN_FORMAT);
  const manifest = parseManifest(readJson<Manifest>(dir, 'manifest.json', MANIFEST_FORMAT));
  const ext = BINARY_EXT[plan.target.target];
  const instances = new Set([...plan.phases.flatMap((p) => p.kernels.flatMap((k) => (isCollective(k) ? [] : [k.instance]))), plan.sampler.instance]);
  const missing = [...instances].filter((i) => !existsSync(join(dir, 'build', i + ext)));
  if (missing.length > 0) {
    throw new PackageError(`${join(dir, 'build')}: ${missing.length} kernel binaries missing (e.g. ${missing[0]}${ext}); build them with dsv3c compile … --target ${plan.target.target} --out ${dir} --build`);
  }
  return { dir, plan, manifest, binaryOf: (instance) => join(dir, 'build', instance + ext) };
}

function readJson<T extends { format: string }>(dir: string, name: string, format: string): T {
  const path = join(dir, name);
  if (!existsSync(path)) throw new PackageError(`${path}: missing; is ${dir} a package written by dsv3c compile --target?`);
  let value: T;
  try {
    value = JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new PackageError(`${path}: not valid JSON (${(e as Error).message}); recompile the package`);
  }
  if (value.format !== format) throw new PackageError(`${path}: format ${JSON.stringify(value.format)}, this runtime reads ${format}; recompile the package`);
  return value;
}
