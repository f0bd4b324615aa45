import type { Manifest } from '../../../compiler/package/manifest.ts';
import { checkWeightSources } from './check-sources.ts';
import { shardOfTensor, type WeightCheckpoint } from './checkpoint-reader.ts';
import { copyWeight } from './copy-weight.ts';
import { kvBSplitWeight } from './kv-b-split.ts';
import { LoadContext } from './load-context.ts';
import { ONLY_RANK, planWeight, type RankOf, type WeightPlan } from './plan-weight.ts';
import { WeightLoadError, type WeightProblem } from './weight-load-error.ts';
import type { WeightSink } from './weight-sink.ts';

export const DEFAULT_CHUNK_BYTES = 16 << 20;
/** Small enough for tests to cut every tensor into many chunks, big enough for any element. */
export const MIN_CHUNK_BYTES = 64;

export interface LoadWeightsOptions {
  /** Load only the weights this accepts (a rank's share); only their sources are checked and read. */
  readonly only?: (weightName: string) => boolean;
  /** After every piece the sink takes: output bytes written so far, of all selected weights' bytes. */
  readonly onProgress?: (doneBytes: number, totalBytes: number, weightName: string) => void;
  /** Bytes per read chunk and per staging piece; DEFAULT_CHUNK_BYTES when left out. */
  readonly chunkBytes?: number;
  /** The rank of the manifest's mesh to load (e·tp + t): its slices and its experts (rank 0 by default). */
  readonly rank?: number;
}

export interface LoadWeightsSummary {
  readonly weights: number;
  readonly bytes: number;
}

/**
 * Loads every manifest weight (that `only` selects), in manifest order, into `sink` in its kernel
 * dtype: a checkpoint tensor as stored (converted when its stored dtype differs), or made by its
 * recipe from the stored bytes (see copy-layout.ts and kv-b-split.ts).
 *
 * Nothing reaches the sink until the whole load has been checked: every source present with the
 * manifest's dtype and shape (checkWeightSources), every recipe fitting its sources and every
 * conversion one the loader makes; all problems are thrown together as one WeightLoadError.
 *
 * Host memory bound: at any time the loader holds one chunk of one source tensor (≤ chunkBytes),
 * one output staging piece (≤ chunkBytes) and, for kv-b-split, that chunk decoded to float32
 * (≤ chunkBytes) plus the few kv_b scale rows it covers: about 3 × chunkBytes (48 MiB by
 * default), whatever the model's size. Never a whole checkpoint, shard or stacked expert weight:
 * a stacked weight goes to the sink piece by piece as its sources are read. The only exception is
 * a W_UK output row (nope values), the smallest piece kv-b-split makes, when it alone exceeds
 * chunkBytes. Besides data, the loader keeps one weight's plan (for DeepSeek-V3's stacked
 * gate_up, about 16k copy records) and the tensor → shard map.
 */
export async function loadWeights(checkpoint: WeightCheckpoint, manifest: Manifest, sink: WeightSink, options: LoadWeightsOptions = {}): Promise<LoadWeightsSummary> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < MIN_CHUNK_BYTES) throw new RangeError(`loadWeights: chunkBytes ${chunkBytes} is not an integer ≥ ${MIN_CHUNK_BYTES}`);
  const only = options.only ?? (() => true);
  checkWeightSources(checkpoint, manifest, { only });
  const files = shardOfTensor(checkpoint);
  const weights = manifest.weights.filter((w) => only(w.name));
  const rank: RankOf = options.rank === undefined ? { ...ONLY_RANK, mesh: manifest.mesh } : { mesh: manifest.mesh, rank: options.rank };
  const world = manifest.mesh.tp * manifest.mesh.ep;
  if (!Number.isInteger(rank.rank) || rank.rank < 0 || rank.rank >= world) throw new RangeError(`loadWeights: rank ${rank.rank} of a mesh of ${world} ranks`);

  // Plan every weight once up front, only to find problems before the first write; plans are
  // remade one at a time below so that no more than one is held.
  const problems: WeightProblem[] = [];
  for (const w of weights) {
    const plan = planWeight(w, checkpoint, files, rank);
    if (Array.isArray(plan)) problems.push(...plan);
  }
  if (problems.length > 0) throw new WeightLoadError(`the manifest's weights cannot be made from checkpoint ${checkpoint.dir}`, problems);

  const totalBytes = weights.reduce((a, w) => a + w.bytes, 0);
  const ctx = new LoadContext(checkpoint, files, sink, chunkBytes, totalBytes, options.onProgress);
  for (const w of weights) {
    const plan = planWeight(w, checkpoint, files, rank) as WeightPlan;
    const before = ctx.doneBytes;
    await sink.begin?.(w);
    if (plan.kind === 'copy') await copyWeight(plan, ctx);
    else await kvBSplitWeight(plan, ctx);
    if (ctx.doneBytes - before !== w.bytes) throw new Error(`loader bug: ${w.name} got ${ctx.doneBytes - before} of its ${w.bytes} bytes`);
    await sink.end?.(w);
  }
  return { weights: weights.length, bytes: totalBytes };
}
