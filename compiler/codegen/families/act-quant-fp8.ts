import { defineFamily } from '../kernel-family.ts';
import { rowsOf } from './operands.ts';

/**
 * act_quant_fp8: x[rows, K] → q[rows, K] e4m3, s[rows, ⌈K/qBlock⌉] f32, s = max(amax, 1e-4)/448.
 * GPU: one warp per 1×qBlock group (amax by shuffle, no shared memory); grid (rows, group chunks).
 */
export const actQuantFp8 = defineFamily({
  name: 'act_quant_fp8',
  op: 'act_quant_fp8',
  template: 'act_quant_fp8',
  doc: 'x -> e4m3 q and f32 scales per 1 x qBlock group: one warp per group',
  constants(node, o) {
    const x = rowsOf('x', o.inputs[0]); // [rows, K]
    return { K: x.width, qBlock: node.attrs.block as number, rows: x.rows, xStride: x.rowStride };
  },
  tunables: {
    gpu: { THREADS: { default: 128, space: [64, 128, 256, 512] } },
    cpu: { ROWS: { default: 1, space: [1, 4, 16] } },
  },
  constraints: [
    { expr: 'qBlock > 0', why: 'a group size' },
    { expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' },
  ],
  launch(c, t, target, warp) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    const groups = Math.ceil((c.K as number) / (c.qBlock as number));
    return { grid: [String(c.rows), String(Math.ceil(groups / (t.THREADS / warp))), '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['x'], outputs: ['q', 's'] }),
  derive: (c) => ({ groups: Math.ceil((c.K as number) / (c.qBlock as number)) }),
});
