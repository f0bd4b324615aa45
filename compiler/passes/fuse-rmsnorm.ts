import type { Node, Value } from '../ir/graph.ts';
import { producedBy, usersOf } from './match.ts';
import type { Pass } from './pass.ts';
import type { RewriteContext } from './rewrite.ts';
import { rewriteGraph } from './rewrite.ts';

/**
 * fuse-rmsnorm — requires: rms_norm nodes of the model graph; act_quant_fp8 readers where
 * fuse-fp8-linear ran in W8A8 mode.
 *
 *   rms_norm(add(a, b), w)                 → fused_rms_norm(a, b, w) {residual}: new residual + normed
 *   act_quant_fp8(rms_norm(…))             → the same fused_rms_norm {quant}: the next GEMM's input
 *   kv_write(c_pool, rms_norm(latent), slots), kv_write(k_pool, rope(k_pe, positions), slots)
 *                                          → mla_kv_write(kv, w, positions, slots, c_pool, k_pool)
 *
 * The cache write is the place where normalizing the latent and rotating k_pe pays: both are read
 * once from the kv_a GEMM's output and written once, straight into the cache.
 */
export const fuseRmsnorm: Pass = {
  name: 'fuse-rmsnorm',
  requires: [],
  doc: 'residual add + RMSNorm + FP8 activation quant → one kernel; latent norm + k_pe RoPE + cache write → one kernel',
  run(graph) {
    return rewriteGraph(graph, (node, ctx) => {
      if (node.op === 'rms_norm') return fuseNorm(node, ctx);
      if (node.op === 'kv_write') return fuseCacheWrite(node, ctx);
      return undefined;
    });
  },
};

function fuseNorm(norm: Node, ctx: RewriteContext): Value[] {
  const [xId, wId] = norm.inputs;
  const add = producedBy(ctx, xId, 'add');
  const quants = usersOf(ctx, norm.outputs[0].id, 'act_quant_fp8');
  const block = quants[0]?.attrs.block;
  const inputs = add ? [ctx.map(add.inputs[0]), ctx.map(add.inputs[1])] : [ctx.map(xId)];
  const outs = ctx.b.add('fused_rms_norm', [...inputs, ctx.map(wId)], {
    eps: norm.attrs.eps,
    residual: add !== undefined,
    quant: quants.length > 0,
    block: block ?? 0,
  });
  if (add) ctx.replace(add.outputs[0].id, outs.shift()!);
  const [normed, q, s] = outs;
  // act_quant nodes of one input are hash-consed, so there is at most one block size here.
  for (const quant of quants) {
    ctx.replace(quant.outputs[0].id, q);
    ctx.replace(quant.outputs[1].id, s);
  }
  return [normed];
}

/** The latent half: kv_write(pool, rms_norm(slice(kv, 0, C)), slots) and its k_pe twin on the same kv and slots. */
function fuseCacheWrite(write: Node, ctx: RewriteContext): Value[] | undefined {
  const norm = producedBy(ctx, write.inputs[1], 'rms_norm');
  const latent = norm && producedBy(ctx, norm.inputs[0], 'slice');
  if (!latent || latent.attrs.start !== 0) return undefined;
  const kvId = latent.inputs[0];
  const peSlice = usersOf(ctx, kvId, 'slice').find((s) => s.attrs.start === latent.attrs.size);
  const rope = peSlice && usersOf(ctx, peSlice.outputs[0].id, 'rope')[0];
  const peWrite = rope && usersOf(ctx, rope.outputs[0].id, 'kv_write').find((w) => w.inputs[2] === write.inputs[2]);
  if (!peWrite) return undefined;
  const { b } = ctx;
  const [cacheC, cacheK] = b.add('mla_kv_write', [ctx.map(kvId), ctx.map(norm.inputs[1]), ctx.map(rope.inputs[1]), ctx.map(write.inputs[2]), ctx.map(write.inputs[0]), ctx.map(peWrite.inputs[0])], {
    eps: norm.attrs.eps,
    ...rope.attrs,
  });
  ctx.replace(peWrite.outputs[0].id, cacheK);
  return [cacheC];
}
