import { defineFamily } from '../kernel-family.ts';
import { expectContiguous, productExpr } from './operands.ts';

/**
 * moe_local_ids: on an expert-parallel rank, each routed id of ids[rows, k] as an index into the
 * rank's L experts (id − ep_rank·L) or −1 when another rank holds that expert (moe_dispatch then
 * leaves the slot out). ep_rank is the rank's step input, written once by the runtime.
 */
export const moeLocalIds = defineFamily({
  name: 'moe_local_ids',
  op: 'moe_local_ids',
  template: 'moe_local_ids',
  doc: "routed ids as indices into this expert-parallel rank's experts, −1 for the others'",
  constants(node, o) {
    expectContiguous('ids', o.inputs[0]);
    return { k: o.inputs[0].shape[1] as number, L: node.attrs.localExperts as number, rows: productExpr([o.inputs[0].shape[0]]) };
  },
  tunables: {
    gpu: { THREADS: { default: 256, space: [64, 128, 256] } },
    cpu: {},
  },
  constraints: [{ expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' }],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: ['1', '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [`((${c.rows}) * ${c.k} + ${t.THREADS - 1}) / ${t.THREADS}`, '1', '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['ids', 'epRank'], outputs: ['local'] }),
});
