import type { Node, Value } from '../ir/graph.ts';
import { gemmAttrs } from '../ir/ops/gemm.ts';
import { linearWeightInputs, producedBy, weightPrefix } from './match.ts';
import type { Pass } from './pass.ts';
import type { RewriteContext } from './rewrite.ts';
import { rewriteGraph } from './rewrite.ts';

/**
 * fuse-fp8-linear — requires: linears as matmul(x, dequant_fp8(w, weight_scale_inv)).
 *
 *   matmul(x, dequant_fp8(w, s))                        → gemm(x, w, s)          W8A16
 *   matmul(dequant_act_fp8(q, qs), dequant_fp8(w, s))   → gemm(q, qs, w, s)      W8A8
 *   matmul(x, dq(w1, s1)), matmul(x, dq(w2, s2))
 *                                 → slices of gemm(x, concat(w1, w2), concat(s1, s2))
 *
 * The horizontal merge takes every FP8 linear that reads the same x and does not feed a SwiGLU
 * (those belong to fuse-swiglu): q_a_proj with kv_a_proj_with_mqa, DeepSeek-V3's 2112-wide GEMM.
 * Rows concatenate exactly only when each part but the last fills whole scale blocks.
 */
export const fuseFp8Linear: Pass = {
  name: 'fuse-fp8-linear',
  requires: [],
  doc: 'dequant + matmul → one block-scaled GEMM (W8A8 or W8A16); sibling linears of one input merged',
  run(graph) {
    const claimed = new Set<Node>();
    const order = new Map(graph.nodes.map((n, i) => [n, i]));
    return rewriteGraph(graph, (node, ctx) => {
      if (node.op !== 'matmul' || claimed.has(node)) return undefined;
      const w = linearWeightInputs(ctx, node.inputs[1]);
      if (!w || w.names.length !== 2) return undefined;
      const siblings = mergeableSiblings(node, ctx, order);
      siblings.forEach((s) => claimed.add(s));
      const group = [node, ...siblings];
      const parts = group.map((m) => linearWeightInputs(ctx, m.inputs[1])!);
      const { b } = ctx;
      let weight = ctx.map(w.ids[0]);
      let scale = ctx.map(w.ids[1]);
      if (group.length > 1) {
        const name = `${weightPrefix(parts[0].names[0])}+${parts.slice(1).map((p) => weightPrefix(p.names[0]).split('.').pop()).join('+')}`;
        const rows = group.map((m) => m.outputs[0].type.shape.at(-1) as number);
        const K = weight.type.shape[1] as number;
        const N = rows.reduce((a, r) => a + r, 0);
        weight = b.input(`${name}.weight`, 'weight', 'fp8e4m3', [N, K], { kind: 'concat-rows', sources: parts.map((p) => p.names[0]), attrs: {} });
        scale = b.input(`${name}.weight_scale_inv`, 'weight', 'f32', [Math.ceil(N / w.blockN!), Math.ceil(K / w.blockK!)], { kind: 'concat-rows', sources: parts.map((p) => p.names[1]), attrs: {} });
      }
      const y = blockScaledGemm(ctx, node.inputs[0], weight, scale, w.blockN!, w.blockK!);
      if (group.length === 1) return [y];
      let start = 0;
      const slices = group.map((m) => {
        const size = m.outputs[0].type.shape.at(-1) as number;
        const s = b.add1('slice', [y], { start, size });
        start += size;
        return s;
      });
      siblings.forEach((s, i) => ctx.replace(s.outputs[0].id, slices[i + 1]));
      return [slices[0]];
    });
  },
};

/**
 * One block-scaled GEMM of activation `xId` (old graph): W8A8 when x is dequant_act_fp8(q, s),
 * i.e. the model quantizes this input, W8A16 otherwise.
 */
function blockScaledGemm(ctx: RewriteContext, xId: number, w: Value, s: Value, blockN: number, blockK: number): Value {
  const fakeQuant = producedBy(ctx, xId, 'dequant_act_fp8');
  if (fakeQuant && fakeQuant.attrs.block === blockK) {
    const [q, qs] = fakeQuant.inputs.map((id) => ctx.map(id));
    return ctx.b.add1('gemm', [q, qs, w, s], gemmAttrs({ actQuant: true, scaled: true, blockN, blockK }));
  }
  return ctx.b.add1('gemm', [ctx.map(xId), w, s], gemmAttrs({ scaled: true, blockN, blockK }));
}

/** Later FP8 linears of the same input, same blocks, not part of a SwiGLU, that concatenate exactly. */
function mergeableSiblings(node: Node, ctx: RewriteContext, order: ReadonlyMap<Node, number>): Node[] {
  const w = linearWeightInputs(ctx, node.inputs[1])!;
  const feedsSwiglu = (m: Node) => ctx.users(m.outputs[0].id).some((u) => u.op === 'silu' || u.op === 'mul');
  if (feedsSwiglu(node)) return [];
  const siblings = ctx.users(node.inputs[0]).filter((m) => {
    if (order.get(m)! <= order.get(node)! || m.op !== 'matmul' || m.inputs[0] !== node.inputs[0] || feedsSwiglu(m)) return false;
    const o = linearWeightInputs(ctx, m.inputs[1]);
    return o !== undefined && o.names.length === 2 && o.blockN === w.blockN && o.blockK === w.blockK;
  });
  // Every part but the last must end on a scale-block boundary for the scales to concatenate.
  const group = [node, ...siblings];
  const rowsOf = (m: Node) => m.outputs[0].type.shape.at(-1) as number;
  const fits = group.slice(0, -1).every((m) => rowsOf(m) % w.blockN! === 0);
  return fits ? siblings : [];
}
