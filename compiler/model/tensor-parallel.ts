import type { Mesh } from '../config/mesh.ts';
import { meshCoordinates } from '../config/mesh.ts';
import type { Tensor } from '../ir/tensor.ts';
import { tensor } from '../ir/tensor.ts';

/**
 * Which checkpoint tensors a tensor-parallel rank holds a slice of, and which slice: the Megatron
 * split of DeepSeek-V3. Column-parallel linears (each rank computes some output features) are cut
 * along their rows, row-parallel linears (each rank reads the features its column-parallel partner
 * made, and the partial sums meet in an all_reduce) along their columns; a `weight_scale_inv` is
 * cut like its weight (mesh.ts keeps every slice whole scale blocks). The embedding table and the
 * head are cut by vocabulary rows. Everything else, the low-rank q_a and kv_a projections, norms
 * and the router, is held whole by every rank.
 *
 *   embedding: embed_tokens rows (vocabulary; other ranks' tokens a zero row) → all_reduce
 *   attention: q_proj | q_b_proj, kv_b_proj rows (heads) → o_proj columns (heads) → all_reduce
 *   MLPs:      gate_proj, up_proj rows → down_proj columns → all_reduce (dense, shared, each expert)
 *   head:      lm_head (or the tied embedding) rows (vocabulary) → all_gather of the logits
 *
 * The shared experts are cut the same way over all tp·ep ranks of the mesh (their partial sums
 * join the routed experts' in the MoE layer's all_reduce); everything else over the tp ranks that
 * share an expert-parallel index. Which routed experts a rank holds is its stacks' business
 * (recipes.ts, `epRanks`), not this file's.
 *
 * The model builder gives each rank's graph the sliced shapes and the collectives; recipes then
 * apply to the sliced checkpoint tensors, so a rank's derived weights (interleaved gate/up, W_UK,
 * expert stacks) are those of a model with 1/tp of the heads and intermediate sizes.
 */
const ROWS = /\.(self_attn\.(q_proj|q_b_proj|kv_b_proj)|mlp\.(shared_experts\.|experts\.\d+\.)?(gate_proj|up_proj))\.(weight|weight_scale_inv)$|^(lm_head|model\.embed_tokens)\.weight$/;
const COLUMNS = /\.(self_attn\.o_proj|mlp\.(shared_experts\.|experts\.\d+\.)?down_proj)\.(weight|weight_scale_inv)$/;

/** The axis of a checkpoint tensor a tensor-parallel rank slices (0: rows, 1: columns), or undefined when every rank holds it whole. */
function tpSplitAxis(name: string): 0 | 1 | undefined {
  if (ROWS.test(name)) return 0;
  if (COLUMNS.test(name)) return 1;
  return undefined;
}

/** A rank's part of a checkpoint tensor: [start, start + count) along `axis`. */
export interface TensorSlice {
  readonly axis: 0 | 1;
  readonly start: number;
  readonly count: number;
}

const SHARED_EXPERTS = /\.mlp\.shared_experts\./;

/** The slice of checkpoint tensor `name` (of `shape`) that rank `rank` of `mesh` holds; undefined: the whole tensor. */
export function tpSlice(name: string, shape: readonly number[], mesh: Mesh, rank: number): TensorSlice | undefined {
  const axis = tpSplitAxis(name);
  const { t } = meshCoordinates(mesh, rank);
  const [parts, index] = SHARED_EXPERTS.test(name) ? [mesh.tp * mesh.ep, rank] : [mesh.tp, t];
  if (axis === undefined || parts === 1) return undefined;
  const size = shape[axis];
  if (size % parts !== 0) throw new Error(`tensor parallel: ${name} has ${size} along axis ${axis}, which ${parts} ranks do not divide`);
  const count = size / parts;
  return { axis, start: index * count, count };
}

/** The part of a 2-D float64 tensor a slice names. */
function sliceTensor(t: Tensor, slice: TensorSlice): Tensor {
  const [N, K] = t.shape;
  if (slice.axis === 0) return tensor([slice.count, K], t.data.slice(slice.start * K, (slice.start + slice.count) * K));
  const out = new Float64Array(N * slice.count);
  for (let i = 0; i < N; i++) out.set(t.data.subarray(i * K + slice.start, i * K + slice.start + slice.count), i * slice.count);
  return tensor([N, slice.count], out);
}

/** Checkpoint tensors as rank `rank` of `mesh` holds them, before any recipe (other inputs, such as tokens, pass through). */
export function rankTensors(tensors: ReadonlyMap<string, Tensor>, mesh: Mesh, rank: number): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    const slice = t.shape.length === 2 ? tpSlice(name, t.shape, mesh, rank) : undefined;
    out.set(name, slice ? sliceTensor(t, slice) : t);
  }
  return out;
}
