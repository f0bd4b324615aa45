import { defineFamily } from '../kernel-family.ts';
import { constDim, expectContiguous, productExpr } from './operands.ts';

/**
 * embedding: table[V, H] rows gathered by ids[N] → [N, H]. One block (GPU) or chunk of rows (cpu)
 * per token; an id outside [0, V) gives a zero row rather than reading outside the table (the
 * reference throws; a kernel cannot).
 */
export const embedding = defineFamily({
  name: 'embedding',
  op: 'embedding',
  template: 'embedding',
  doc: 'table[V, H] rows gathered by ids[N]: one row per block',
  constants(_node, o) {
    for (const [i, x] of [...o.inputs, ...o.outputs].entries()) expectContiguous(`operand ${i}`, x);
    return { V: constDim('table', o.inputs[0], 0), H: constDim('table', o.inputs[0], 1), rows: productExpr(o.inputs[1].shape) };
  },
  tunables: {
    gpu: { THREADS: { default: 256, space: [64, 128, 256, 512, 1024] } },
    cpu: { ROWS: { default: 4, space: [1, 4, 16] } },
  },
  constraints: [{ expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' }],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), '1', '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['table', 'ids'], outputs: ['y'] }),
});
