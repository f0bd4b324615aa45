import { defineFamily } from '../kernel-family.ts';
import { constDim, expectContiguous, productExpr } from './operands.ts';

/**
 * gather_rows: pool[P, C] rows gathered by table[Bc, S] → [Bc, S, C] (prefill's expanded MLA reads
 * a sequence's cached latents in position order from the paged pools). One block (GPU) or chunk of
 * rows (cpu) per table entry; a slot outside [0, P) gives a zero row, as the reference.
 */
export const gatherRows = defineFamily({
  name: 'gather_rows',
  op: 'gather_rows',
  template: 'gather_rows',
  doc: 'pool[P, C] rows gathered by table[Bc, S]: one row per block',
  constants(_node, o) {
    for (const [i, x] of [...o.inputs, ...o.outputs].entries()) expectContiguous(`operand ${i}`, x);
    return { C: constDim('pool', o.inputs[0], 1), rows: productExpr(o.inputs[1].shape) };
  },
  tunables: {
    gpu: { THREADS: { default: 128, space: [64, 128, 256, 512] } },
    cpu: { ROWS: { default: 4, space: [1, 4, 16] } },
  },
  constraints: [{ expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' }],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), '1', '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['pool', 'table'], outputs: ['y'] }),
});
