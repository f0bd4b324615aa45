import { defineFamily } from '../kernel-family.ts';
import { collapseLeading, constDim, expectContiguous, strideOf } from './operands.ts';

/**
 * head_matmul: x[..., h, K] · w[h, N, K]ᵀ per head → y[..., h, N] (W_UV after absorbed
 * attention). GPU: one block per (row, head); x staged in shared memory, one warp per output
 * column (lanes along K: coalesced weight reads).
 */
export const headMatmul = defineFamily({
  name: 'head_matmul',
  op: 'head_matmul',
  template: 'head_matmul',
  doc: 'x . w[h]^T per head: one (row, head) per block',
  constants(_node, o) {
    const x = o.inputs[0]; // [..., h, K]: the leading axes collapse to rows
    if (strideOf(x, -1) !== 1) throw new Error('x: the last axis must be contiguous');
    const lead = collapseLeading('x', x, x.shape.length - 2);
    expectContiguous('w', o.inputs[1]);
    return {
      heads: constDim('w', o.inputs[1], 0),
      N: constDim('w', o.inputs[1], 1),
      K: constDim('w', o.inputs[1], 2),
      rows: lead.rows,
      xRow: lead.stride,
      xHead: strideOf(x, -2),
    };
  },
  tunables: {
    gpu: { THREADS: { default: 256, space: [64, 128, 256, 512] } },
    cpu: { ROWS: { default: 1, space: [1, 4] } },
  },
  constraints: [
    { expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' },
    { expr: 'K * 4 <= 32 * 1024', why: 'x row staged in shared memory', target: 'gpu' },
  ],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), String(c.heads), '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['x', 'w'], outputs: ['y'] }),
});
