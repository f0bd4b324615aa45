import { defineFamily } from '../kernel-family.ts';
import { constDim, expectContiguous, productExpr } from './operands.ts';

/**
 * moe_combine: y[N, K', H] (rows in dispatch order) → out[n] = Σ_j w[n, j] · y(row of slot n·K'+j),
 * shared slots (j ≥ k) with weight 1, summed in slot order. One block per token, which first finds
 * its K' rows by scanning row_slot (O(N·K') per token: fine for decode; prefill would rather have
 * dispatch emit the inverse permutation — later).
 */
export const moeCombine = defineFamily({
  name: 'moe_combine',
  op: 'moe_combine',
  template: 'moe_combine',
  doc: 'rows back to tokens, weighted sum in slot order: one token per block',
  constants(_node, o) {
    for (const [i, x] of o.inputs.entries()) expectContiguous(`input ${i}`, x);
    return { H: constDim('y', o.inputs[0], 2), KP: constDim('y', o.inputs[0], 1), k: constDim('weights', o.inputs[2], 1), rows: productExpr([o.inputs[0].shape[0]]) };
  },
  tunables: {
    gpu: { THREADS: { default: 256, space: [64, 128, 256, 512, 1024] } },
    cpu: { ROWS: { default: 1, space: [1, 4] } },
  },
  constraints: [{ expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' }],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), '1', '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['y', 'rowSlot', 'weights'], outputs: ['out'] }),
});
