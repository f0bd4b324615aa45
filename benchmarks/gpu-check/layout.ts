/**
 * What the GPU bundle (.gpu/, made by scripts/gpu-bundle.sh) holds and what gpu-check runs: the
 * planning parts, shared by prepare.ts (here, with nvcc) and the runner (there, with a GPU), and
 * tested without a GPU (test/gpu-check).
 *
 *   .gpu/dsv3c.mjs                  the CLI + gpu-check, one esbuild bundle (node20, ESM)
 *   .gpu/dsv3c_native.node          the addon (loaded through $DSV3C_NATIVE_ADDON, set by the bundle)
 *   .gpu/node.xz                    Node itself, xz-compressed
 *   .gpu/bundle.json                this layout, made concrete: commit, seed, packages, cubins
 *   .gpu/configs/*.json             the tiny configs and deepseek-v3.json (compiled in-process there)
 *   .gpu/packages/<config>-<mode>/  cuda sm_90a packages: plan.json, manifest.json, build/*.cubin
 *                                   (deepseek-v3: build/*.cubin only, for timing)
 *   .gpu/checkpoints/<config>/      make-tiny checkpoints (seed and sha256s in bundle.json; one over
 *                                   8 MiB is made again there, same seed, and checked: checkpoints.ts)
 *   .gpu/peers/peers.cubin          our copy and simple SGEMM kernels (the roofline peers)
 *   .gpu/peers/*.py                 PyTorch peers (copy, matmul), run when python3 + torch are there
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const BUNDLE_FORMAT = 'dsv3c-gpu-bundle/1';
export const RESULTS_FORMAT = 'dsv3c-gpu-check/1';
export const ARCH = 'sm_90a';
export const MODES = ['fp8', 'none'] as const;
export type Mode = (typeof MODES)[number];
/** make-tiny's seed for the shipped checkpoints. */
export const TINY_SEED = 20261122;
/** The full model whose kernel instances are timed. */
export const TIMED_CONFIG = 'deepseek-v3';
/** Modes of the full model built and timed (W8A8 is DeepSeek's own path). */
export const TIMED_MODES: readonly Mode[] = ['fp8', 'none'];
/** The transfer limit per command on the GPU machine (GPU.md), and what the bundle aims below. */
export const TRANSFER_LIMIT_BYTES = 64 * 2 ** 20;
export const BUNDLE_BUDGET_BYTES = 56 * 2 ** 20;

export interface CheckDef {
  readonly id: CheckId;
  readonly what: string;
}

export type CheckId = 'kernels' | 'e2e' | 'timing' | 'graphs' | 'sanitizer';

/** Every check, in the order a run does them. */
export const CHECKS: readonly CheckDef[] = [
  { id: 'kernels', what: 'every cuda kernel instance of the tiny configs vs its op float64 reference (test/codegen/harness.ts)' },
  { id: 'e2e', what: 'the tiny models end to end on cuda vs the float64 reference (test/e2e/agreement.ts bounds and routing probe)' },
  { id: 'timing', what: "DeepSeek-V3's kernel instances at decode B=1,64 and prefill T=512,4096 (CUDA events), vs measured copy bandwidth and matmul rate" },
  { id: 'graphs', what: 'decode step time of a tiny model: executor plain launches vs CUDA-graph replay' },
  { id: 'sanitizer', what: 'compute-sanitizer --tool memcheck over the kernel check of the tiny configs (when the tool exists)' },
];

/** The checks a run does: `only` (when given) in CHECKS order, minus `skip`; unknown names throw. */
export function selectChecks(only?: readonly string[], skip: readonly string[] = []): CheckId[] {
  const known = new Set(CHECKS.map((c) => c.id as string));
  for (const n of [...(only ?? []), ...skip]) if (!known.has(n)) throw new Error(`unknown check ${n}: expected one of ${[...known].join(', ')}`);
  return CHECKS.map((c) => c.id).filter((id) => (!only || only.includes(id)) && !skip.includes(id));
}

/** The tiny configs (configs/tiny-*.json), without the extension, sorted. */
export function tinyConfigNames(configsDir = 'configs'): string[] {
  return readdirSync(configsDir)
    .filter((f) => /^tiny-.*\.json$/.test(f))
    .sort()
    .map((f) => f.replace(/\.json$/, ''));
}

export interface PackageEntry {
  readonly config: string;
  readonly mode: Mode;
  /** Relative to the bundle folder. */
  readonly dir: string;
}

export interface BundlePlan {
  readonly configs: readonly string[];
  readonly packages: readonly PackageEntry[];
  readonly checkpoints: readonly { readonly config: string; readonly dir: string }[];
}

/** The packages and checkpoints a bundle holds: each tiny config in both modes, DeepSeek-V3 in TIMED_MODES. */
export function bundlePlan(configsDir = 'configs'): BundlePlan {
  const tiny = tinyConfigNames(configsDir);
  const packages: PackageEntry[] = [
    ...tiny.flatMap((config) => MODES.map((mode) => ({ config, mode, dir: packageDir(config, mode) }))),
    ...TIMED_MODES.map((mode) => ({ config: TIMED_CONFIG, mode, dir: packageDir(TIMED_CONFIG, mode) })),
  ];
  return { configs: [...tiny, TIMED_CONFIG], packages, checkpoints: tiny.map((config) => ({ config, dir: checkpointDir(config) })) };
}

export const packageDir = (config: string, mode: Mode): string => `packages/${config}-${mode}`;
export const checkpointDir = (config: string): string => `checkpoints/${config}`;

/** What prepare.ts writes as bundle.json. */
export interface BundleManifest {
  readonly format: string;
  readonly createdAt: string;
  readonly commit: string;
  /** Whether the working tree had changes (other than .gpu/) when the bundle was made. */
  readonly dirty: boolean;
  readonly arch: string;
  readonly tinySeed: number;
  readonly nodeVersion: string;
  readonly plan: BundlePlan;
  /** Kernel instance name → its cubin, relative to the bundle folder (every package's build/). */
  readonly cubins: Readonly<Record<string, string>>;
  /** The tiny configs' distinct cuda instances the kernel check runs (as test/codegen's samplesOf finds them). */
  readonly kernelCheckInstances: readonly string[];
  readonly checkpoints: readonly CheckpointEntry[];
}

/** A make-tiny checkpoint: shipped in the bundle, or (too large) made there again and checked by its files' sha256. */
export interface CheckpointEntry {
  readonly config: string;
  readonly dir: string;
  readonly shipped: boolean;
  readonly bytes: number;
  readonly sha256: Readonly<Record<string, string>>;
}

export interface FileEntry {
  readonly path: string;
  readonly bytes: number;
}

/** Every file under dir (relative paths, sorted) with its size, and the total. */
export function listFiles(dir: string): { files: FileEntry[]; totalBytes: number } {
  const files: FileEntry[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push({ path: relative(dir, p), bytes: statSync(p).size });
    }
  };
  walk(dir);
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { files, totalBytes: files.reduce((a, f) => a + f.bytes, 0) };
}

/** Decode and prefill bindings of a timing case: decode B sequences over S = 4096 positions, prefill T fresh tokens. */
export interface TimingCase {
  readonly phase: 'decode' | 'prefill';
  readonly label: string;
  readonly bindings: Readonly<Record<string, number>>;
}

export const TIMING_CONTEXT = 4096;

export const TIMING_CASES: readonly TimingCase[] = [
  ...[1, 64].map((B) => ({ phase: 'decode' as const, label: `decode B=${B}`, bindings: { B, S: TIMING_CONTEXT, P: B * TIMING_CONTEXT } })),
  ...[512, 4096].map((T) => ({ phase: 'prefill' as const, label: `prefill T=${T}`, bindings: { T, S: T, P: T } })),
];
