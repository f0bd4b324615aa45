import type { ModelConfig } from './model-config.ts';

/**
 * A tensor × expert parallel mesh of tp·ep ranks, numbered rank = e·tp + t (t the tensor-parallel
 * index, e the expert-parallel one). Attention heads, dense MLPs and the head's vocabulary split
 * tp ways (ranks with the same t hold the same slices); routed experts split ep ways, and each
 * expert's intermediate size tp ways again, so every rank holds 1/(tp·ep) of the routed experts;
 * the shared experts' intermediate size splits over all tp·ep ranks (as DeepSeek's own inference
 * splits it over its world), so the MoE layer's partial sums meet in one all_reduce.
 */
export interface Mesh {
  readonly tp: number;
  readonly ep: number;
}

export const SINGLE_RANK: Mesh = Object.freeze({ tp: 1, ep: 1 });

/** A mesh the model cannot be split over; names the mesh axis and the config field it fails. */
export class MeshError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'MeshError';
  }
}

/** Parses "tp=8,ep=4" (either part may be left out, defaulting to 1). */
export function parseMesh(text: string): Mesh {
  const mesh = { tp: 1, ep: 1 };
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(tp|ep)=(\d+)$/.exec(part);
    if (!m || Number(m[2]) < 1) throw new MeshError(`mesh "${text}": "${part}" is not tp=N or ep=N with N ≥ 1`);
    mesh[m[1] as 'tp' | 'ep'] = Number(m[2]);
  }
  return Object.freeze(mesh);
}

/** Every size a mesh axis splits must divide evenly; the first that does not is reported. */
export function validateMesh(config: ModelConfig, mesh: Mesh): void {
  const splits: [number, string, number, 'tp' | 'ep'][] = [
    [mesh.tp, 'num_attention_heads', config.numHeads, 'tp'],
    [mesh.tp, 'intermediate_size', config.intermediateSize, 'tp'],
    [mesh.tp, 'vocab_size', config.vocabSize, 'tp'],
  ];
  if (config.nRoutedExperts > 0) {
    splits.push([mesh.tp, 'moe_intermediate_size', config.moeIntermediateSize, 'tp']);
    splits.push([mesh.ep, 'n_routed_experts', config.nRoutedExperts, 'ep']);
  } else if (mesh.ep > 1) {
    throw new MeshError(`mesh ep=${mesh.ep}: ${config.source} has no routed experts (n_routed_experts 0); use ep=1`);
  }
  for (const [n, field, size, axis] of splits) {
    if (size % n !== 0) {
      throw new MeshError(`mesh ${axis}=${n} does not divide ${field} (${size}) of ${config.source}; expected a divisor of ${size}`);
    }
  }
}

/**
 * What `compile` can split. Beyond validateMesh: with FP8 weights each rank's slice of a linear
 * must be whole scale blocks (a block split across ranks would need its scale on both, and W8A8
 * quantizes activations in groups of blockK that must not straddle ranks), and on an ep > 1 mesh
 * the shared experts' intermediate size must divide over all tp·ep ranks.
 */
export function validateCompileMesh(config: ModelConfig, mesh: Mesh): void {
  validateMesh(config, mesh);
  const world = mesh.tp * mesh.ep;
  const sharedInter = config.moeIntermediateSize * config.nSharedExperts;
  if (mesh.ep > 1 && sharedInter % world !== 0) {
    throw new MeshError(`mesh ${formatMesh(mesh)}: the shared experts' moe_intermediate_size × n_shared_experts (${sharedInter}) of ${config.source} splits over all ${world} ranks; expected a mesh whose size divides it`);
  }
  const q = config.quantization;
  if (!q || world === 1) return;
  const local = rankConfig(config, mesh);
  const heads = `num_attention_heads/${mesh.tp} = ${local.numHeads} heads`;
  const rows = (size: number, what: string): [number, number, string, string][] => [[size, q.blockN, what, 'rows']];
  const columns = (size: number, what: string): [number, number, string, string][] => [[size, q.blockK, what, 'columns']];
  const checks = [
    ...rows(local.numHeads * (config.qkNopeHeadDim + config.qkRopeHeadDim), `the q projection's ${heads} × (qk_nope_head_dim + qk_rope_head_dim)`),
    ...rows(local.numHeads * (config.qkNopeHeadDim + config.vHeadDim), `kv_b_proj's ${heads} × (qk_nope_head_dim + v_head_dim)`),
    ...columns(local.numHeads * config.vHeadDim, `o_proj's ${heads} × v_head_dim`),
    ...rows(local.intermediateSize, `intermediate_size/${mesh.tp}`),
    ...columns(local.intermediateSize, `intermediate_size/${mesh.tp}`),
  ];
  if (config.nRoutedExperts > 0) {
    checks.push(...rows(local.moeIntermediateSize, `moe_intermediate_size/${mesh.tp}`), ...columns(local.moeIntermediateSize, `moe_intermediate_size/${mesh.tp}`));
    const shared = `moe_intermediate_size × n_shared_experts / ${world} ranks`;
    if (mesh.ep > 1 && sharedInter > 0) checks.push(...rows(sharedInter / world, shared), ...columns(sharedInter / world, shared));
  }
  for (const [size, block, what, axis] of checks) {
    if (size % block !== 0) {
      throw new MeshError(`mesh ${formatMesh(mesh)}: each rank holds ${size} ${axis} (${what}) of ${config.source}, not a multiple of the FP8 scale block's ${block} ${axis}; expected a mesh that keeps every rank's slice whole blocks`);
    }
  }
}

/** Rank `rank` of a mesh as its (tensor-parallel, expert-parallel) coordinates. */
export function meshCoordinates(mesh: Mesh, rank: number): { readonly t: number; readonly e: number } {
  if (!Number.isInteger(rank) || rank < 0 || rank >= mesh.tp * mesh.ep) throw new RangeError(`rank ${rank} of a mesh of ${mesh.tp * mesh.ep} ranks`);
  return { t: rank % mesh.tp, e: Math.floor(rank / mesh.tp) };
}

/**
 * The ranks that take part in one collective together, for every such group: 'tp', the tp ranks
 * of one expert-parallel index (consecutive, as ranks are numbered e·tp + t); 'world', all ranks.
 */
export function collectiveGroups(mesh: Mesh, group: 'tp' | 'world'): number[][] {
  const world = mesh.tp * mesh.ep;
  const size = group === 'world' ? world : mesh.tp;
  return Array.from({ length: world / size }, (_, g) => Array.from({ length: size }, (_, i) => g * size + i));
}

/**
 * The model one rank computes: the same layers with 1/tp of the attention heads, of the dense
 * MLP's and of each routed expert's intermediate size. Passes and codegen size everything from
 * it; the vocabulary and the expert count stay whole (routing is over all experts), and the
 * head's, the experts' and the shared experts' splits are the model builder's (build-model.ts).
 */
export function rankConfig(config: ModelConfig, mesh: Mesh): ModelConfig {
  if (mesh.tp === 1) return config;
  return Object.freeze({
    ...config,
    numHeads: config.numHeads / mesh.tp,
    intermediateSize: config.intermediateSize / mesh.tp,
    moeIntermediateSize: config.moeIntermediateSize / mesh.tp,
  });
}

/** "tp=2,ep=1" for messages. */
export function formatMesh(mesh: Mesh): string {
  return `tp=${mesh.tp},ep=${mesh.ep}`;
}
