import { defineFamily } from '../kernel-family.ts';
import { constDim, expectContiguous, productExpr, strideOf } from './operands.ts';
import { ropeConstants, ropeDerive } from './rope-common.ts';

/**
 * rope (prefill's q_pe): x[N, h, d] or x[N, d] — a strided window of the q_b output, strides
 * [24576, 192, 1] for DeepSeek-V3 — rotated by positions[N] into a dense output. One block per token.
 */
export const rope = defineFamily({
  name: 'rope',
  op: 'rope',
  template: 'rope',
  doc: 'interleaved-pair rotation by position, YaRN frequencies baked in: one token per block',
  constants(node, o) {
    const x = o.inputs[0];
    if (x.shape.length !== 2 && x.shape.length !== 3) throw new Error(`x must be [N, d] or [N, h, d], got rank ${x.shape.length}`);
    if (strideOf(x, -1) !== 1) throw new Error('x: the last axis must be contiguous');
    expectContiguous('positions', o.inputs[1]);
    const three = x.shape.length === 3;
    return {
      heads: three ? constDim('x', x, 1) : 1,
      rows: productExpr([x.shape[0]]),
      xTok: strideOf(x, 0),
      xHead: three ? strideOf(x, 1) : 0,
      ...ropeConstants(node.attrs),
    };
  },
  tunables: {
    gpu: { THREADS: { default: 256, space: [64, 128, 256, 512] } },
    cpu: { ROWS: { default: 1, space: [1, 4, 16] } },
  },
  constraints: [
    { expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' },
    { expr: 'ropeDim % 2 == 0', why: 'pairs' },
  ],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), '1', '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['x', 'positions'], outputs: ['y'] }),
  derive: (c) => ropeDerive(c),
});
