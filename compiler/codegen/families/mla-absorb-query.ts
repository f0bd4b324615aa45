import { defineFamily } from '../kernel-family.ts';
import { constDim, expectContiguous, productExpr, strideOf } from './operands.ts';
import { ropeConstants, ropeDerive } from './rope-common.ts';

/**
 * mla_absorb_query: q[N, h, nope + R] → q_lat[N, h, C] = q_nope · W_UK[h]ᵀ (W_UK [h, C, nope]),
 * q_pe[N, h, R] = rope(q's last R). GPU: one block per (token, head); q_nope staged in shared
 * memory, one warp per latent column (lanes along nope: coalesced W_UK reads).
 */
export const mlaAbsorbQuery = defineFamily({
  name: 'mla_absorb_query',
  op: 'mla_absorb_query',
  template: 'mla_absorb_query',
  doc: 'q_nope . W_UK per head and rope(q_pe): one (token, head) per block',
  constants(node, o) {
    const q = o.inputs[0]; // [N, h, nope + R], maybe strided per token and head
    if (strideOf(q, 2) !== 1) throw new Error('q: the last axis must be contiguous');
    for (const i of [1, 2]) expectContiguous(`input ${i}`, o.inputs[i]);
    return {
      heads: constDim('q', q, 1),
      nope: node.attrs.nope as number,
      C: constDim('W_UK', o.inputs[1], 1),
      R: constDim('q', q, 2) - (node.attrs.nope as number),
      rows: productExpr([q.shape[0]]),
      qTok: strideOf(q, 0),
      qHead: strideOf(q, 1),
      ...ropeConstants(node.attrs),
    };
  },
  tunables: {
    gpu: { THREADS: { default: 256, space: [64, 128, 256, 512] } },
    cpu: { ROWS: { default: 1, space: [1, 4] } },
  },
  constraints: [
    { expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' },
    { expr: 'R == ropeDim', why: 'q_pe is one rope chunk' },
  ],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), String(c.heads), '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['q', 'wUk', 'positions'], outputs: ['qLat', 'qPe'] }),
  derive: (c) => ropeDerive(c),
});
