import { defineFamily } from '../kernel-family.ts';
import { rowsOf } from './operands.ts';

/**
 * add: y = a + b elementwise, in f32, stored in y's dtype. Only what the passes leave unfused
 * reaches it: the routed-plus-shared sum of a model with more than one shared expert (lower-moe
 * folds exactly one shared expert into the grouped GEMMs).
 */
export const add = defineFamily({
  name: 'add',
  op: 'add',
  template: 'add',
  doc: 'y = a + b elementwise: a thread per element, a block row per row',
  constants(_node, o) {
    const a = rowsOf('a', o.inputs[0]);
    const b = rowsOf('b', o.inputs[1]);
    if (a.width !== b.width || a.rows !== b.rows) throw new Error(`a and b differ in shape`);
    return { K: a.width, rows: a.rows, aStride: a.rowStride, bStride: b.rowStride };
  },
  tunables: {
    gpu: { THREADS: { default: 256, space: [64, 128, 256, 512] } },
    cpu: { ROWS: { default: 4, space: [1, 4, 16] } },
  },
  constraints: [{ expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' }],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), String(Math.ceil((c.K as number) / t.THREADS)), '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['a', 'b'], outputs: ['y'] }),
});
