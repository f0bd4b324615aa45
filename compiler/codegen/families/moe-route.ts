import { defineFamily } from '../kernel-family.ts';
import { constDim, expectContiguous, rowsOf } from './operands.ts';

/**
 * moe_route: logits = x[N, H] · gate[E, H]ᵀ in fp32 → sigmoid → noaux_tc selection (bias for
 * choosing only; group score = sum of its two best biased scores; topkGroup groups kept; topK
 * experts among them; ties to the lower index, as routeToken) → ids[N, k], weights[N, k].
 * GPU: one block per token; one warp per expert's logit (lanes along H), then thread 0 selects
 * (E = 256, k = 8: a few thousand comparisons; a parallel top-k is for later).
 */
export const moeRoute = defineFamily({
  name: 'moe_route',
  op: 'moe_route',
  template: 'moe_route',
  doc: 'gate logits in fp32, sigmoid, noaux_tc group-limited top-k: one token per block',
  constants(node, o) {
    const x = rowsOf('x', o.inputs[0]); // [N, H]
    expectContiguous('gate', o.inputs[1]);
    expectContiguous('bias', o.inputs[2]);
    return {
      H: x.width,
      E: constDim('gate', o.inputs[1], 0),
      topK: node.attrs.topK as number,
      nGroup: node.attrs.nGroup as number,
      topkGroup: node.attrs.topkGroup as number,
      normTopkProb: node.attrs.normTopkProb === true,
      routedScalingFactor: node.attrs.routedScalingFactor as number,
      rows: x.rows,
      xStride: x.rowStride,
    };
  },
  tunables: {
    gpu: { THREADS: { default: 256, space: [64, 128, 256, 512, 1024] } },
    cpu: { ROWS: { default: 1, space: [1, 4] } },
  },
  constraints: [
    { expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' },
    { expr: 'E % nGroup == 0 && E / nGroup >= 2', why: 'equal groups of at least two experts (the group score sums two)' },
    { expr: 'topkGroup <= nGroup && topK <= topkGroup * (E / nGroup)', why: 'enough experts in the kept groups' },
    { expr: '(H + 2 * E + nGroup) * 4 + E <= 48 * 1024', why: 'x, scores and flags in shared memory', target: 'gpu' },
  ],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), '1', '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['x', 'gate', 'bias'], outputs: ['ids', 'weights'] }),
});
