import type { Mesh } from '../config/mesh.ts';
import type { ModelConfig } from '../config/model-config.ts';
import type { CheckpointDType, CheckpointTensor, ModuleKind } from './checkpoint-tensors.ts';
import { CHECKPOINT_DTYPE_BYTES, checkpointTensors, elementCount } from './checkpoint-tensors.ts';

/** Parameter counts: scales (`weight_scale_inv`) are storage, not parameters, and are left out. */
export interface ParamCounts {
  readonly total: number; // the main model, without the MTP module
  readonly mtp: number; // the MTP module as stored (its own embedding and head copies included)
  readonly byModule: Readonly<Partial<Record<ModuleKind, number>>>;
  readonly byTensor: Readonly<Record<string, number>>;
  /** Parameters one token's forward reads: k of the routed experts, the whole embedding table and head. */
  readonly activePerToken: number;
  readonly activePerTokenWithoutEmbedding: number;
}

export interface WeightBytes {
  readonly byDtype: Readonly<Partial<Record<CheckpointDType, number>>>;
  readonly fp8: number;
  readonly fp8Scales: number;
  readonly bf16: number;
  readonly f32Other: number;
  readonly total: number;
}

function isParameter(t: CheckpointTensor): boolean {
  return t.scaleOf === undefined;
}

function isMain(config: ModelConfig, t: CheckpointTensor): boolean {
  return t.layer === null || t.layer < config.numLayers;
}

export function paramCounts(config: ModelConfig): ParamCounts {
  const byModule: Partial<Record<ModuleKind, number>> = {};
  const byTensor: Record<string, number> = {};
  let total = 0;
  let mtp = 0;
  let active = 0;
  for (const t of checkpointTensors(config)) {
    if (!isParameter(t)) continue;
    const n = elementCount(t.shape);
    byTensor[t.name] = n;
    byModule[t.module] = (byModule[t.module] ?? 0) + n;
    if (!isMain(config, t)) {
      mtp += n;
      continue;
    }
    total += n;
    // A token runs k of the E routed experts; every other main-model tensor is read whole.
    active += t.expert === undefined ? n : (n * config.numExpertsPerTok) / config.nRoutedExperts;
  }
  const embedding = byModule.embedding ?? 0;
  return { total, mtp, byModule, byTensor, activePerToken: active, activePerTokenWithoutEmbedding: active - embedding };
}

export function weightBytes(config: ModelConfig, tensors: readonly CheckpointTensor[] = checkpointTensors(config)): WeightBytes {
  const byDtype: Partial<Record<CheckpointDType, number>> = {};
  let fp8Scales = 0;
  for (const t of tensors) {
    const bytes = elementCount(t.shape) * CHECKPOINT_DTYPE_BYTES[t.dtype];
    byDtype[t.dtype] = (byDtype[t.dtype] ?? 0) + bytes;
    if (t.scaleOf !== undefined) fp8Scales += bytes;
  }
  const fp8 = byDtype.F8_E4M3 ?? 0;
  const bf16 = byDtype.BF16 ?? 0;
  const f32Other = (byDtype.F32 ?? 0) - fp8Scales;
  return { byDtype, fp8, fp8Scales, bf16, f32Other, total: fp8 + fp8Scales + bf16 + f32Other };
}

/** Bytes of KV cache one token adds, over the main model's layers, for a cache element of `elementBytes`. */
export function kvBytesPerToken(config: ModelConfig, elementBytes = 2): { absorbedLatent: number; expanded: number } {
  const L = config.numLayers;
  return {
    // MLA absorbed: one shared latent (c_kv + k_pe) per token per layer, whatever the head count.
    absorbedLatent: L * (config.kvLoraRank + config.qkRopeHeadDim) * elementBytes,
    // Expanded: per head, a full key (nope + rope) and value.
    expanded: L * config.numHeads * (config.qkNopeHeadDim + config.qkRopeHeadDim + config.vHeadDim) * elementBytes,
  };
}

/**
 * How many ways a tensor is split on a mesh, as compile splits it (config/mesh.ts,
 * model/tensor-parallel.ts): the embedding and the head by vocabulary and q_b/kv_b/o_proj by heads
 * over tp, dense MLPs over tp, routed experts over tp·ep (ep ways by expert, tp ways by
 * intermediate size), the shared experts over all tp·ep ranks; the low-rank down-projections
 * (q_a, kv_a), norms, router and eh_proj are whole on every rank.
 */
export function shardDivisor(t: CheckpointTensor, mesh: Mesh): number {
  const name = t.name;
  if (t.expert !== undefined) return mesh.tp * mesh.ep;
  if (/mlp\.shared_experts\./.test(name)) return mesh.tp * mesh.ep;
  if (/(embed_tokens|lm_head|shared_head\.head)\.weight$/.test(name)) return mesh.tp;
  if (/self_attn\.(q_proj|q_b_proj|kv_b_proj|o_proj)\./.test(name)) return mesh.tp;
  if (/mlp\.(gate_proj|up_proj|down_proj)\./.test(name)) return mesh.tp;
  return 1;
}

export interface RankMemory {
  readonly weightBytesPerRank: number;
  readonly mtpWeightBytesPerRank: number;
  readonly kvBytesPerRank: number; // at the given context, one sequence
  readonly totalBytesPerRank: number;
}

/** Bytes each rank holds: its weight shards plus the latent KV cache of one sequence of `context` tokens. */
export function rankMemory(config: ModelConfig, mesh: Mesh, context: number): RankMemory {
  let main = 0;
  let mtp = 0;
  for (const t of checkpointTensors(config)) {
    const bytes = (elementCount(t.shape) * CHECKPOINT_DTYPE_BYTES[t.dtype]) / shardDivisor(t, mesh);
    if (isMain(config, t)) main += bytes;
    else mtp += bytes;
  }
  // The absorbed latent is shared by all heads, so every TP rank keeps all of it.
  const kv = kvBytesPerToken(config).absorbedLatent * context;
  return { weightBytesPerRank: main, mtpWeightBytesPerRank: mtp, kvBytesPerRank: kv, totalBytesPerRank: main + mtp + kv };
}
