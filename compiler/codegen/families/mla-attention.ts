import type { Constants, Operand } from '../kernel-family.ts';
import { defineFamily } from '../kernel-family.ts';
import { constDim, expectContiguous, productExpr, strideOf } from './operands.ts';

/** Batch, token and head strides of a [B, T|S, h, d] operand (d contiguous) as constants prefixed `p`. */
function strides4(p: string, o: Operand): Constants {
  if (strideOf(o, 3) !== 1) throw new Error(`${p}: the last axis must be contiguous`);
  return { [`${p}B`]: strideOf(o, 0), [`${p}T`]: strideOf(o, 1), [`${p}H`]: strideOf(o, 2) };
}

/**
 * mla_attention (prefill, expanded): q_nope[B, Tq, h, dn], q_pe[B, Tq, h, R] against per-head
 * k_nope[B, S, h, dn], the shared k_pe[B, S, R] and v[B, S, h, dv]; query (b, t) sees rows
 * j ≤ positions[b, t]. q_nope, k_nope and v are column windows of wider outputs (q_b, kv_b), so
 * every operand's batch/token/head strides are baked (batch strides may name S). GPU: one block
 * per (query, head), online softmax over chunks of J keys as mla_absorbed_attention.
 */
export const mlaAttention = defineFamily({
  name: 'mla_attention',
  op: 'mla_attention',
  template: 'mla_attention',
  doc: 'softmax((q_nope . k_nope + q_pe . k_pe) * scale, j <= pos) . v: one (query, head) per block, online softmax',
  constants(node, o) {
    const [qNope, qPe, kNope, kPe, v, positions] = o.inputs;
    expectContiguous('positions', positions);
    if (strideOf(kPe, 2) !== 1) throw new Error('k_pe: the last axis must be contiguous');
    return {
      heads: constDim('q_nope', qNope, 2),
      DN: constDim('q_nope', qNope, 3),
      R: constDim('q_pe', qPe, 3),
      DV: constDim('v', v, 3),
      scale: node.attrs.scale as number,
      rows: productExpr(qNope.shape.slice(0, 2)),
      tq: productExpr([qNope.shape[1]]),
      ...strides4('qn', qNope),
      ...strides4('qp', qPe),
      ...strides4('kn', kNope),
      kpB: strideOf(kPe, 0),
      kpT: strideOf(kPe, 1),
      ...strides4('v', v),
    };
  },
  tunables: {
    gpu: { THREADS: { default: 128, space: [64, 128, 256, 512] }, J: { default: 32, space: [16, 32, 64] } },
    cpu: { ROWS: { default: 1, space: [1, 4] } },
  },
  constraints: [
    { expr: 'THREADS % WARP == 0 && J <= THREADS', why: 'whole warps; one thread per key of a chunk', target: 'gpu' },
    { expr: '(DN + R + J) * 4 <= 16 * 1024', why: 'the query and a chunk of scores in shared memory', target: 'gpu' },
  ],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), String(c.heads), '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['qNope', 'qPe', 'kNope', 'kPe', 'v', 'positions'], outputs: ['out'] }),
  derive: (c, t) => (t.THREADS ? { OC: Math.ceil((c.DV as number) / t.THREADS) } : {}),
});
