/**
 * loadModel(packageDir, modelDir): from a compiled package and a checkpoint folder to a session
 * that generates. Everything that can be checked is checked before a byte of weights moves: the
 * package's files and binaries, the checkpoint's config against the one compiled, every tensor
 * the manifest reads (name, dtype, shape), and whether weights, KV cache and activations fit the
 * memory budget. Then weights stream in (progress bar), kernels load, and the executor and the
 * device sampler are built.
 *
 * A package compiled for a mesh (plan.mesh: tp·ep ranks) runs on the cpu target as that many
 * ranks in this process: each loads its slices of the weights and its experts and has its own
 * executor, stepped together by a MeshExecutor whose collectives are host copies
 * (host-collectives.ts).
 */
import { join } from 'node:path';
import { openCheckpoint } from '../../compiler/checkpoint/checkpoint.ts';
import { configFingerprint } from '../../compiler/config/config-fingerprint.ts';
import { formatMesh } from '../../compiler/config/mesh.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import type { DeviceKind, DeviceMemory } from './device/device.ts';
import { openDevice } from './device/device.ts';
import type { Capacity } from './exec/capacity.ts';
import { Executor, executorLayout } from './exec/executor.ts';
import { runHostCollective } from './exec/host-collectives.ts';
import { MeshExecutor } from './exec/mesh-executor.ts';
import type { StepExecutor } from './exec/step-executor.ts';
import type { NativeAddon } from './native/addon-types.ts';
import type { ProgressStream } from './progress-bar.ts';
import { ProgressBar } from './progress-bar.ts';
import { PackageError, readPackage } from './read-package.ts';
import type { Sampler } from './sampler.ts';
import { deviceSampler } from './sampler.ts';
import { ModelSession } from './session.ts';
import type { LoadedTokenizer } from './tokenizer/index.ts';
import { loadTokenizer } from './tokenizer/index.ts';
import { checkWeightSources } from './weights/check-sources.ts';
import { loadWeights } from './weights/load-weights.ts';

export interface LoadOptions {
  /** Where to run: the package's target by default (a cuda package runs on cuda). */
  readonly device?: DeviceKind;
  /** Positions per sequence (prompt + generated); default min(max_position_embeddings, 4096). */
  readonly maxContext?: number;
  /** Sequences per batch; default 4. */
  readonly maxBatch?: number;
  /** Tokens per prefill step (longer prompts are prefilled in chunks); default min(maxContext, 512). */
  readonly maxTokens?: number;
  /** Positions per KV cache page; default 64. */
  readonly kvPageSize?: number;
  /**
   * Positions the paged KV cache holds, all sequences together (rounded up to whole pages);
   * default maxBatch × maxContext (whole pages per sequence), so every sequence can reach maxContext.
   */
  readonly kvPositions?: number;
  /** Bytes the model may use on the device; default: the device's memory. */
  readonly memoryBudgetBytes?: number;
  /** Where the loading progress bar goes; false for none. process.stderr by default. */
  readonly progress?: ProgressStream | false;
  readonly addon?: NativeAddon;
}

/** `shortfall` says what is needed against the budget; the message adds what to lower (callers with other knobs, like the CLI, word their own). */
export class MemoryBudgetError extends Error {
  readonly userFacing = true;
  constructor(readonly shortfall: string) {
    super(`${shortfall}; lower maxBatch, maxContext or kvPositions, or shard it over more GPUs`);
  }
}

export async function loadModel(packageDir: string, modelDir: string, options: LoadOptions = {}): Promise<ModelSession> {
  const pkg = readPackage(packageDir);
  const config = loadConfig(join(modelDir, 'config.json'));
  if (configFingerprint(config) !== pkg.plan.configSha256) {
    throw new PackageError(`${join(modelDir, 'config.json')} is not the config ${packageDir} was compiled from (model ${pkg.plan.model}); compile a package for this checkpoint`);
  }
  const kind = options.device ?? pkg.plan.target.target;
  if (kind !== pkg.plan.target.target) throw new PackageError(`--device ${kind}: ${packageDir} holds ${pkg.plan.target.target} kernels; compile it with --target ${kind}`);
  const { mesh } = pkg.plan;
  const ranks = mesh.tp * mesh.ep;
  if (ranks > 1 && kind !== 'cpu') {
    throw new PackageError(`${packageDir} is compiled for a mesh of ${formatMesh(mesh)}: multi-GPU execution (a process per GPU with NCCL) is not built yet; a mesh package runs on the cpu target (compile it with --target cpu)`);
  }
  const maxContext = positive('maxContext', options.maxContext ?? Math.min(config.maxPositionEmbeddings, 4096));
  if (maxContext > config.maxPositionEmbeddings) throw new PackageError(`maxContext ${maxContext} is past the model's max_position_embeddings ${config.maxPositionEmbeddings}`);
  const capacity: Capacity = {
    maxContext,
    maxBatch: positive('maxBatch', options.maxBatch ?? 4),
    maxTokens: positive('maxTokens', Math.min(options.maxTokens ?? 512, maxContext)),
    ...(options.kvPageSize === undefined ? {} : { kvPageSize: positive('kvPageSize', options.kvPageSize) }),
    ...(options.kvPositions === undefined ? {} : { kvPositions: positive('kvPositions', options.kvPositions) }),
  };

  const checkpoint = await openCheckpoint(modelDir);
  try {
    checkWeightSources(checkpoint, pkg.manifest);
    const device = openDevice(kind, options.addon);
    const owned: DeviceMemory[] = [];
    const executors: Executor[] = [];
    let sampler: Sampler | undefined;
    // Frees whatever was made, in reverse order: the session's end, or a failure while loading.
    const release = () => {
      sampler?.dispose();
      for (const e of executors) e.dispose();
      for (const m of owned) m.dispose();
      device.dispose();
    };
    try {
      const layout = executorLayout(pkg.plan, capacity);
      const budget = options.memoryBudgetBytes ?? device.memoryBytes;
      // On a mesh every rank holds its slices (the manifest's bytes are one rank's) and its own executor.
      const need = ranks * (pkg.manifest.totalBytes + layout.totalBytes);
      if (need > budget) {
        const kv = layout.caches.reduce((a, c) => a + c.bytes, 0);
        const perRank = ranks > 1 ? ` (${ranks} ranks of ${formatMesh(mesh)}, each)` : '';
        throw new MemoryBudgetError(
          `the model needs ${gib(need)} on ${device.name}${perRank} (weights ${gib(pkg.manifest.totalBytes)}, KV cache ${gib(kv)} for ${layout.pool.rows} positions (${layout.pool.pages} pages of ${layout.pool.pageSize}), ` +
            `activations ${gib(layout.arenaBytes)}) but the budget is ${gib(budget)}`,
        );
      }
      const bar = options.progress === false ? null : new ProgressBar({ label: 'loading weights', total: ranks * pkg.manifest.totalBytes, unit: 'bytes', stream: options.progress });
      for (let rank = 0; rank < ranks; rank++) {
        const weights = new Map<string, DeviceMemory>();
        const before = rank * pkg.manifest.totalBytes;
        const label = ranks > 1 ? `rank ${rank}: ` : '';
        await loadWeights(checkpoint, pkg.manifest, {
          begin: (w) => {
            const m = device.alloc(w.bytes, `weight ${w.name}${ranks > 1 ? ` of rank ${rank}` : ''}`);
            owned.push(m);
            weights.set(w.name, m);
          },
          write: (name, offset, bytes) => weights.get(name)!.write(bytes, offset),
        }, { rank, onProgress: (done, _total, name) => bar?.update(before + done, label + name) });
        executors.push(new Executor(device, pkg.plan, weights, capacity, (instance) => device.loadKernel(pkg.binaryOf(instance), instance), rank));
      }
      bar?.finish('');
      const executor: StepExecutor = ranks > 1 ? new MeshExecutor(executors, mesh, runHostCollective) : executors[0];
      sampler = deviceSampler(device, pkg.plan, pkg.binaryOf, capacity.maxBatch);
      let tokenizer: LoadedTokenizer | null = null;
      let problem = '';
      try {
        tokenizer = loadTokenizer(modelDir);
      } catch (e) {
        problem = (e as Error).message;
      }
      return new ModelSession(config, device, executor, sampler, tokenizer, problem, release);
    } catch (e) {
      release();
      throw e;
    }
  } finally {
    await checkpoint.close();
  }
}

function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new PackageError(`${name} ${v}: expected a positive whole number`);
  return v;
}

function gib(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 2 ** 10).toFixed(1)} KiB`;
}
