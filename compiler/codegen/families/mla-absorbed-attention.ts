import { defineFamily } from '../kernel-family.ts';
import { constDim, expectContiguous, productExpr } from './operands.ts';

/**
 * mla_absorbed_attention (decode): q_lat[B, Tq, h, C], q_pe[B, Tq, h, R] against the latent pools
 * c_kv[P, C], k_pe[P, R]; query (b, t) sees positions j ≤ positions[b, t], position j being pool
 * row table[b, j] (a row outside [0, P) reads row 0: the reference throws, a kernel must not fault);
 * output latent [B, Tq, h, C]. GPU: one block per (query, head) with an online softmax over chunks of J keys
 * (one warp per key's dot product; every thread owns C/THREADS output columns). Heads re-read
 * the cache independently and the sequence is not split: both are later tunables (issue 6).
 */
export const mlaAbsorbedAttention = defineFamily({
  name: 'mla_absorbed_attention',
  op: 'mla_absorbed_attention',
  template: 'mla_absorbed_attention',
  doc: 'softmax((q_lat . c_kv + q_pe . k_pe) * scale, j <= pos) . c_kv over the pool rows of the slot table: one (query, head) per block, online softmax',
  constants(node, o) {
    for (const [i, x] of o.inputs.entries()) expectContiguous(`input ${i}`, x);
    const q = o.inputs[0];
    return {
      heads: constDim('q_lat', q, 2),
      C: constDim('q_lat', q, 3),
      R: constDim('q_pe', o.inputs[1], 3),
      scale: node.attrs.scale as number,
      rows: productExpr(q.shape.slice(0, 2)),
      tq: productExpr([q.shape[1]]),
    };
  },
  tunables: {
    gpu: { THREADS: { default: 128, space: [64, 128, 256, 512] }, J: { default: 32, space: [16, 32, 64] } },
    cpu: { ROWS: { default: 1, space: [1, 4] } },
  },
  constraints: [
    { expr: 'THREADS % WARP == 0 && J <= THREADS', why: 'whole warps; one thread per key of a chunk', target: 'gpu' },
    { expr: '(C + R + J) * 4 <= 16 * 1024', why: 'the query and a chunk of scores in shared memory', target: 'gpu' },
  ],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), String(c.heads), '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['qLat', 'qPe', 'cKv', 'kPe', 'positions', 'table'], outputs: ['out'] }),
  derive: (c, t) => (t.THREADS ? { OC: Math.ceil((c.C as number) / t.THREADS) } : {}),
});
