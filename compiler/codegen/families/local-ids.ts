import { defineFamily } from '../kernel-family.ts';
import { expectContiguous, productExpr } from './operands.ts';

/**
 * local_ids: each of n ids as its index in the rank's part of `count` ids (id − rank·count), or −1
 * when another rank holds it: the token ids of a vocabulary-parallel embedding, the routed expert
 * ids of an expert-parallel MoE layer. `rank` is the rank's step input, written once by the runtime.
 */
export const localIds = defineFamily({
  name: 'local_ids',
  op: 'local_ids',
  template: 'local_ids',
  doc: "ids as indices into this rank's part of their space, −1 for other ranks' ids",
  constants(node, o) {
    expectContiguous('ids', o.inputs[0]);
    return { count: node.attrs.count as number, n: productExpr(o.inputs[0].shape) };
  },
  tunables: {
    gpu: { THREADS: { default: 256, space: [64, 128, 256] } },
    cpu: {},
  },
  constraints: [{ expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' }],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: ['1', '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [`(${c.n} + ${t.THREADS - 1}) / ${t.THREADS}`, '1', '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['ids', 'rank'], outputs: ['local'] }),
});
