/**
 * The generated package, as a map from relative path to contents: package.json, index.ts,
 * plan.json, manifest.json, tuning.json and kernels/<instance><ext> (the phases' instances and the
 * sampler's, sampler-instance.ts). Pure and deterministic (no time, no absolute paths, keys in a
 * fixed order), so the same inputs give byte-identical files.
 */
import type { Dialect } from '../codegen/dialect.ts';
import type { KernelInstance, PlanOptions } from '../codegen/instances.ts';
import { planKernels } from '../codegen/instances.ts';
import { renderInstance } from '../codegen/render.ts';
import type { CompiledPhase } from '../compile-model.ts';
import { configFingerprint } from '../config/config-fingerprint.ts';
import type { Mesh } from '../config/mesh.ts';
import { SINGLE_RANK } from '../config/mesh.ts';
import type { ModelConfig } from '../config/model-config.ts';
import type { IndexFacts } from './index-source.ts';
import { indexSource } from './index-source.ts';
import { manifestFile, manifestText } from './manifest.ts';
import { phasePlan } from './plan.ts';
import type { Plan } from './plan-format.ts';
import { PLAN_FORMAT } from './plan-format.ts';
import { checkLogitsRows, planSampler, samplerInstance } from './sampler-instance.ts';
import { jsonText } from './json-text.ts';
import { tuningFile } from './tuning.ts';

export const RUNTIME_VERSION = '0.1.0';

export interface PackageOptions {
  /** A short name for headers and package.json: the config file's or model folder's base name. */
  readonly model: string;
  readonly dialect: Dialect;
  readonly actQuant: 'fp8' | 'none';
  readonly disabledPasses: readonly string[];
  /** The ranks `phases` were compiled for (compileModel's mesh); one by default. */
  readonly mesh?: Mesh;
  readonly kernels?: PlanOptions;
}

export type PackageFiles = ReadonlyMap<string, string>;

/** A graph with ops no kernel family implements (what --disable-pass can leave): it compiles, but cannot be packaged. */
export class UnsupportedOpsError extends Error {
  readonly userFacing = true;
}

export function generatePackage(config: ModelConfig, phases: readonly CompiledPhase[], options: PackageOptions): PackageFiles {
  return new Map(generatePackageWithoutIndex(config, phases, options)).set('index.ts', indexSource(indexFacts(config, options)));
}

/**
 * Every file but index.ts, which depends on `indexFacts` alone: compile has it written on a worker
 * thread (index-writer.ts) while this runs, and adds it last.
 */
export function generatePackageWithoutIndex(config: ModelConfig, phases: readonly CompiledPhase[], options: PackageOptions): Map<string, string> {
  const { dialect: d, model } = options;
  const mesh = options.mesh ?? SINGLE_RANK;
  const kernelPlans = phases.map((p) => planKernels(p.schedule, d, options.kernels));
  kernelPlans.forEach((kp, i) => {
    if (kp.unsupported.length === 0) return;
    const cause = options.disabledPasses.length > 0 ? `; the passes fuse them into kernels, and --disable-pass ${options.disabledPasses.join(', ')} left them (without --target, compile still lowers, reports and dumps the graph)` : '';
    throw new UnsupportedOpsError(`${phases[i].phase}: no ${d.target} kernel implements ${kp.unsupported.join(', ')}${cause}`);
  });
  const instances = new Map<string, KernelInstance>();
  for (const kp of kernelPlans) for (const inst of kp.instances) instances.set(inst.name, inst);
  checkLogitsRows(phases, config.vocabSize);
  const sampler = samplerInstance(config.vocabSize, d, options.kernels);
  instances.set(sampler.name, sampler);
  const names = [...instances.keys()].sort();

  const plan: Plan = {
    format: PLAN_FORMAT,
    model,
    configSha256: configFingerprint(config),
    target: { target: d.target, arch: d.arch, ext: d.ext },
    actQuant: options.actQuant,
    disabledPasses: options.disabledPasses,
    mesh: { tp: mesh.tp, ep: mesh.ep },
    phases: phases.map((p, i) => phasePlan(p, kernelPlans[i])),
    sampler: planSampler(sampler, config.vocabSize),
  };
  const files = new Map<string, string>();
  files.set('package.json', jsonText(packageJson(model, plan)));
  files.set('plan.json', jsonText(plan));
  files.set('manifest.json', manifestText(manifestFile(config, phases.map((p) => p.schedule.graph), mesh)));
  files.set('tuning.json', jsonText(tuningFile(plan, names.map((n) => instances.get(n)!))));
  for (const n of names) files.set(`kernels/${n}${d.ext}`, renderInstance(instances.get(n)!, d, model));
  return files;
}

/** What index.ts says about the package: the config and the options only. */
export function indexFacts(config: ModelConfig, options: PackageOptions): IndexFacts {
  const { dialect: d, model, actQuant } = options;
  return {
    model,
    target: d.target,
    arch: d.arch,
    actQuant,
    disabledPasses: options.disabledPasses,
    mesh: { tp: options.mesh?.tp ?? 1, ep: options.mesh?.ep ?? 1 },
    vocabSize: config.vocabSize,
    maxPositions: config.maxPositionEmbeddings,
    header: `// generated by dsv3c ${RUNTIME_VERSION} from the ${model} config for ${d.target} ${d.arch} (${actQuant === 'fp8' ? 'W8A8' : 'W8A16'}): do not edit`,
  };
}

function packageJson(model: string, plan: Plan): object {
  return {
    name: `dsv3c-${model.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-${plan.target.target}`,
    version: RUNTIME_VERSION,
    private: true,
    type: 'module',
    description: `${model} compiled by dsv3c for ${plan.target.target} ${plan.target.arch}`,
    main: 'index.ts',
    dsv3c: { plan: 'plan.json', manifest: 'manifest.json', tuning: 'tuning.json', kernels: 'kernels', build: 'build' },
    dependencies: { dsv3c: RUNTIME_VERSION },
  };
}
