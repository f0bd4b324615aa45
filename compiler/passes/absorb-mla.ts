import type { Value } from '../ir/graph.ts';
import { linearWeightInputs, producedBy, weightPrefix } from './match.ts';
import type { Pass } from './pass.ts';
import { rewriteGraph } from './rewrite.ts';

/**
 * absorb-mla — requires: the model graph's expanded mla_attention, whose k_nope and v come from
 * kv_b_proj applied to the cached latent gathered from its pool by the slot table.
 *
 *   mla_attention(q_nope, rope(q_pe), kv_b(gather(c_pool, table))[nope], gather(k_pool, table), kv_b(…)[v])
 *     → head_matmul(mla_absorbed_attention(q_nope·W_UK, rope(q_pe), c_pool, k_pool, positions, table), W_UV)
 *
 * The gathers then have no readers and go: absorbed decode reads the pools in place.
 *
 * Decode only. Per (query, key) pair the absorbed form works over kv_lora + rope dims (576 for V3)
 * instead of nope + rope (192) and v (128), but it never expands the cache: expanded decode
 * re-runs kv_b_proj over all S cached positions for each new token (2·S·kv_lora·h·(nope+v) FLOPs
 * and S·h·(nope+v) bytes), absorbed decode reads 576 numbers per position once. In prefill, T
 * queries share one expansion of T positions, and the expanded form is cheaper once T exceeds a few
 * hundred (T·h·(1088 − 320) per key vs 2·kv_lora·(nope+v) per position), so prefill keeps it.
 *
 * W_UK and W_UV are derived weights: kv_b_proj dequantized and split per head at load.
 */
export const absorbMla: Pass = {
  name: 'absorb-mla',
  requires: [],
  doc: 'decode MLA: fold W_UK into the query and W_UV after attention over the latent cache',
  run(graph, config) {
    if (graph.phase !== 'decode') return graph;
    return rewriteGraph(graph, (node, ctx) => {
      if (node.op !== 'mla_attention') return undefined;
      const [qNope4, qPe4, kNopeId, kPeId, vId, posView] = node.inputs;
      // k_nope = slice(reshape(matmul(c_kv, W_kv_b))); v is the other slice of the same reshape.
      const kSlice = producedBy(ctx, kNopeId, 'slice');
      const vSlice = producedBy(ctx, vId, 'slice');
      const heads = kSlice && producedBy(ctx, kSlice.inputs[0], 'reshape');
      const expand = heads && producedBy(ctx, heads.inputs[0], 'matmul');
      const weights = expand && linearWeightInputs(ctx, expand.inputs[1]);
      const qPeRope = producedBy(ctx, qPe4, 'reshape') && producedBy(ctx, ctx.producer(qPe4)!.inputs[0], 'rope');
      const qNopeSlice = producedBy(ctx, qNope4, 'reshape') && producedBy(ctx, ctx.producer(qNope4)!.inputs[0], 'slice');
      const qPeSlice = qPeRope && producedBy(ctx, qPeRope.inputs[0], 'slice');
      if (!vSlice || vSlice.inputs[0] !== kSlice!.inputs[0] || !expand || !weights || !qPeRope || !qNopeSlice || !qPeSlice) return undefined;
      if (qPeSlice.inputs[0] !== qNopeSlice.inputs[0]) return undefined;
      // Both come from the pools through one slot table: the absorbed kernel reads the pools by it.
      const gatherC = producedBy(ctx, expand.inputs[0], 'gather_rows');
      const gatherK = producedBy(ctx, kPeId, 'gather_rows');
      if (!gatherC || !gatherK || gatherC.inputs[1] !== gatherK.inputs[1]) return undefined;

      const { b } = ctx;
      const [nope, vDim, C, h] = [config.qkNopeHeadDim, config.vHeadDim, config.kvLoraRank, config.numHeads];
      const prefix = weightPrefix(weights.names[0]);
      const recipeAttrs = { heads: h, nope, v: vDim, blockN: weights.blockN ?? 1, blockK: weights.blockK ?? 1 };
      const wUk = b.input(`${prefix}.w_uk`, 'weight', 'bf16', [h, C, nope], { kind: 'kv-b-split', sources: weights.names, attrs: { ...recipeAttrs, part: 'uk' } });
      const wUv = b.input(`${prefix}.w_uv`, 'weight', 'bf16', [h, vDim, C], { kind: 'kv-b-split', sources: weights.names, attrs: { ...recipeAttrs, part: 'uv' } });

      const [Bq, Tq] = node.outputs[0].type.shape;
      const [qLat, qPe] = b.add('mla_absorb_query', [ctx.map(qNopeSlice.inputs[0]), wUk, ctx.map(qPeRope.inputs[1])], { nope, ...qPeRope.attrs });
      const view = (v: Value, width: number) => b.add1('reshape', [v], { shape: [Bq, Tq, h, width] }); // (Bq, Tq, heads, width)
      const pools = [ctx.map(gatherC.inputs[0]), ctx.map(gatherK.inputs[0])];
      const outLat = b.add1('mla_absorbed_attention', [view(qLat, C), view(qPe, config.qkRopeHeadDim), ...pools, ctx.map(posView), ctx.map(gatherC.inputs[1])], { scale: node.attrs.scale });
      return [b.add1('head_matmul', [outLat, wUv])];
    });
  },
};
