/**
 * A package for a run (`dsv3c run` without --package, and tests that need a built package): the
 * generated package of a config for a target, kept in `<cache>/packages/<key>/`, where the key
 * covers what the package depends on: the config's fingerprint, target, arch, activation
 * quantization, mesh, the dsv3c version and the plan and manifest formats. A complete folder
 * (plan.json and build/build.json) is reused as it is; otherwise the package is compiled
 * in-process into a private staging folder, its kernels are built (through the shared kernel
 * cache), and the folder is renamed into place, so a folder under that key is always whole, even
 * with several runs racing to make it. (Kernel templates changed within one dsv3c version are not
 * in the key: clear the cache folder, or compile with --out and run with --package.)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Dialect, TargetKind } from '../codegen/dialect.ts';
import { compileModel } from '../compile-model.ts';
import { configFingerprint } from '../config/config-fingerprint.ts';
import type { Mesh } from '../config/mesh.ts';
import { SINGLE_RANK } from '../config/mesh.ts';
import type { ModelConfig } from '../config/model-config.ts';
import type { BuildProgress, BuildResult } from './build-kernels.ts';
import { buildPackageKernels, defaultCacheDir } from './build-kernels.ts';
import { dialectFor } from './dialect-for.ts';
import { generatePackage, RUNTIME_VERSION } from './generate-package.ts';
import { MANIFEST_FORMAT } from './manifest.ts';
import { PLAN_FORMAT } from './plan-format.ts';
import { writePackage } from './write-package.ts';

export interface RunPackageOptions {
  /** cpu by default. */
  readonly target?: TargetKind;
  /** The target's default architecture when absent (sm_90a, gfx90a, host). */
  readonly arch?: string;
  /** fp8 (W8A8) by default. */
  readonly actQuant?: 'fp8' | 'none';
  /** One rank by default. */
  readonly mesh?: Mesh;
  /** The cache root (default: defaultCacheDir()); packages go to <root>/packages, kernels to <root>/kernels. */
  readonly cacheDir?: string;
  /** The name written into the package's headers when it is compiled (default "model"). */
  readonly model?: string;
  /** Parallel compiler processes for the kernel build (default: the CPUs available). */
  readonly jobs?: number;
  /** Called once before compiling, when no complete package is cached. */
  readonly onCompile?: (dir: string, dialect: Dialect) => void;
  readonly onBuildProgress?: (p: BuildProgress) => void;
}

export interface RunPackage {
  readonly dir: string;
  readonly key: string;
  /** True when a complete package was already there. */
  readonly reused: boolean;
  /** The kernel build, when this call compiled the package. */
  readonly build?: BuildResult;
}

/** `<target>-<arch>-<actQuant>[-tp<N>-ep<M>]-<16 hex digits>`: readable, and unique for what the package depends on. */
export function runPackageKey(config: ModelConfig, dialect: Dialect, actQuant: 'fp8' | 'none', mesh: Mesh = SINGLE_RANK): string {
  const what = { config: configFingerprint(config), target: dialect.target, arch: dialect.arch, actQuant, mesh: [mesh.tp, mesh.ep], dsv3c: RUNTIME_VERSION, formats: [PLAN_FORMAT, MANIFEST_FORMAT] };
  const hash = createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
  return `${dialect.target}-${dialect.arch}-${actQuant}${mesh.tp * mesh.ep > 1 ? `-tp${mesh.tp}-ep${mesh.ep}` : ''}-${hash}`;
}

/** Where the package for these options lives (whether or not it exists yet). */
export function runPackageDir(config: ModelConfig, options: RunPackageOptions = {}): string {
  const dialect = dialectFor(options.target ?? 'cpu', options.arch);
  return join(options.cacheDir ?? defaultCacheDir(), 'packages', runPackageKey(config, dialect, options.actQuant ?? 'fp8', options.mesh));
}

/** A package folder with its plan and a finished kernel build. */
export function isCompletePackage(dir: string): boolean {
  return existsSync(join(dir, 'plan.json')) && existsSync(join(dir, 'build', 'build.json'));
}

/** The cached package for `config`, compiled and built first when it is not there (or not whole). */
export async function packageForRun(config: ModelConfig, options: RunPackageOptions = {}): Promise<RunPackage> {
  const dialect = dialectFor(options.target ?? 'cpu', options.arch);
  const actQuant = options.actQuant ?? 'fp8';
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const dir = runPackageDir(config, options);
  const key = basename(dir);
  const packages = dirname(dir);
  if (isCompletePackage(dir)) return { dir, key, reused: true };

  options.onCompile?.(dir, dialect);
  mkdirSync(packages, { recursive: true });
  const tag = `${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
  const staging = join(packages, `.${key}.${tag}.tmp`);
  try {
    const mesh = options.mesh ?? SINGLE_RANK;
    const phases = compileModel(config, { actQuant, disabledPasses: [], mesh });
    writePackage(staging, generatePackage(config, phases, { model: options.model ?? 'model', dialect, actQuant, disabledPasses: [], mesh }));
    const build = await buildPackageKernels(staging, { cacheDir, jobs: options.jobs, onProgress: options.onBuildProgress });
    if (!isCompletePackage(dir)) {
      const old = join(packages, `.${key}.${tag}.old`);
      try {
        if (existsSync(dir)) renameSync(dir, old); // an incomplete folder: replaced
        renameSync(staging, dir);
      } catch (e) {
        if (!isCompletePackage(dir)) throw e; // else another run put the same package there first
      }
      rmSync(old, { recursive: true, force: true });
    }
    // Another run may have finished the same package meanwhile: then its folder is used (same bytes).
    rmSync(staging, { recursive: true, force: true });
    return { dir, key, reused: false, build };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}
