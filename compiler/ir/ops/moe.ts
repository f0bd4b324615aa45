import type { Attrs } from '../graph.ts';
import { defineOp, ShapeError } from '../op.ts';
import { tensor } from '../tensor.ts';
import { byteSize, resolveShape, tensorType } from '../types.ts';
import { boolAttr, expectArity, expectDim, expectRank, ioBytes, numAttr } from './helpers.ts';
import { sigmoid } from './elementwise.ts';
import { dequantActRows, quantizeActRows } from './fp8-quant.ts';
import { dequantBlocks, linearRows } from './linear.ts';

/**
 * DeepSeek-V3's noaux_tc routing for one token's scores (already sigmoid'ed). The bias picks
 * experts but never weights them; groups not kept are masked to −inf (not 0); a group's score is
 * the sum of its two best biased scores. Ties go to the lower index.
 */
export function routeToken(scores: ArrayLike<number>, bias: ArrayLike<number>, attrs: Attrs): { idx: number[]; weights: number[] } {
  const E = scores.length;
  const k = attrs.topK as number;
  const nGroup = attrs.nGroup as number;
  const topkGroup = attrs.topkGroup as number;
  const biased = Array.from({ length: E }, (_, e) => scores[e] + bias[e]);
  const perGroup = E / nGroup;
  const groupScore = Array.from({ length: nGroup }, (_, g) => {
    const members = biased.slice(g * perGroup, (g + 1) * perGroup).sort((a, b) => b - a);
    return members[0] + members[1];
  });
  const keptGroups = new Set(topIndices(groupScore, topkGroup));
  const masked = biased.map((s, e) => (keptGroups.has(Math.floor(e / perGroup)) ? s : -Infinity));
  const idx = topIndices(masked, k);
  let weights = idx.map((e) => scores[e]);
  if (attrs.normTopkProb) {
    const sum = weights.reduce((a, b) => a + b, 0);
    weights = weights.map((w) => w / sum);
  }
  const scale = attrs.routedScalingFactor as number;
  return { idx, weights: weights.map((w) => w * scale) };
}

/** Indices of the k largest values, largest first; equal values keep index order. */
function topIndices(values: readonly number[], k: number): number[] {
  return values
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, i]) => i);
}

const ROUTE_ATTRS = ['topK', 'nGroup', 'topkGroup', 'routedScalingFactor'] as const;

defineOp({
  name: 'topk_route',
  doc: 'scores[N, E], bias[E] → expert ids[N, k] (i32) and weights[N, k] (f32), noaux_tc',
  infer(inputs, attrs) {
    expectArity('topk_route', inputs, 2);
    for (const a of ROUTE_ATTRS) numAttr('topk_route', attrs, a);
    boolAttr('topk_route', attrs, 'normTopkProb');
    const [scores, bias] = inputs;
    expectRank('topk_route', 'scores', scores, 2);
    expectDim('topk_route', 'bias length', bias.shape[0], scores.shape[1]);
    const k = attrs.topK as number;
    return [tensorType('i32', [scores.shape[0], k]), tensorType('f32', [scores.shape[0], k])];
  },
  reference([scores, bias], attrs) {
    const [N, E] = scores.shape;
    const k = attrs.topK as number;
    const idx = new Float64Array(N * k);
    const w = new Float64Array(N * k);
    for (let n = 0; n < N; n++) {
      const r = routeToken(scores.data.subarray(n * E, (n + 1) * E), bias.data, attrs);
      idx.set(r.idx, n * k);
      w.set(r.weights, n * k);
    }
    return [tensor([N, k], idx), tensor([N, k], w)];
  },
  cost(inputs, outputs, _attrs, bindings) {
    const [N, E] = resolveShape(inputs[0].shape, bindings);
    return { flops: N * E * 4, bytes: ioBytes(inputs, outputs, bindings) };
  },
});

/**
 * Stacked expert operands after (x, ids, weights): gate, up and down as [E, out, in], each followed
 * by its stacked block scales when quantized.
 */
export function expertOperandCount(quantized: boolean): number {
  return quantized ? 6 : 3;
}

/** One expert's SwiGLU MLP on rows x[R, H]: down(silu(gate x) ⊙ up x). Weights already dequantized. */
export function expertMlp(x: Float64Array, gate: Float64Array, up: Float64Array, down: Float64Array, H: number, I: number, beforeDown = (h: Float64Array) => h): Float64Array {
  const g = linearRows(x, gate, I, H);
  const u = linearRows(x, up, I, H);
  for (let i = 0; i < g.length; i++) g[i] = g[i] * sigmoid(g[i]) * u[i];
  return linearRows(beforeDown(g), down, H, I);
}

defineOp({
  name: 'moe_experts',
  doc: 'Σ_j weights[n, j] · expert_{ids[n, j]}(x[n]) over the routed experts (weights stacked [E, out, in]); ids −1 are skipped',
  infer(inputs, attrs) {
    const E = numAttr('moe_experts', attrs, 'numExperts');
    const quantized = boolAttr('moe_experts', attrs, 'quantized');
    boolAttr('moe_experts', attrs, 'actQuant');
    expectArity('moe_experts', inputs, 3 + expertOperandCount(quantized));
    const [x, ids, w] = inputs;
    expectRank('moe_experts', 'x', x, 2);
    expectDim('moe_experts', 'ids rows', ids.shape[0], x.shape[0]);
    expectDim('moe_experts', 'weights rows', w.shape[0], x.shape[0]);
    expectDim('moe_experts', 'weights width', w.shape[1], ids.shape[1]);
    const [g, u, d] = [0, 1, 2].map((j) => inputs[3 + (quantized ? 2 * j : j)]);
    for (const [what, t] of [['gate', g], ['up', u], ['down', d]] as const) {
      expectRank('moe_experts', what, t, 3);
      expectDim('moe_experts', `${what} experts`, t.shape[0], E);
    }
    if (JSON.stringify(g.shape) !== JSON.stringify(u.shape)) throw new ShapeError('moe_experts', 'gate and up stacks differ in shape');
    expectDim('moe_experts', 'gate input', g.shape[2], x.shape[1]);
    expectDim('moe_experts', 'down output', d.shape[1], x.shape[1]);
    expectDim('moe_experts', 'down input', d.shape[2], g.shape[1]);
    return [tensorType(x.dtype, x.shape)];
  },
  reference(inputs, attrs) {
    const [x, ids, w] = inputs;
    const [N, H] = x.shape;
    const k = ids.shape[1];
    const quantized = attrs.quantized as boolean;
    /** Expert e's slice of stacked operand `i`, as a 2-D tensor. */
    const slice = (i: number, e: number) => {
      const t = inputs[i];
      const [rows, cols] = [t.shape[1], t.shape[2]];
      return tensor([rows, cols], t.data.subarray(e * rows * cols, (e + 1) * rows * cols));
    };
    const weightOf = (e: number, j: number): Float64Array => {
      if (!quantized) return slice(3 + j, e).data;
      return dequantBlocks(slice(3 + 2 * j, e), slice(3 + 2 * j + 1, e), attrs.blockN as number, attrs.blockK as number);
    };
    const I = inputs[3].shape[1];
    // W8A8: each expert GEMM sees its input quantized per 1×blockK group (the same x for all experts).
    const fakeQuant = (v: Float64Array, K: number) => {
      if (!attrs.actQuant) return v;
      const { q, s } = quantizeActRows(v, K, attrs.blockK as number);
      return dequantActRows(q, s, K, attrs.blockK as number);
    };
    const xq = fakeQuant(x.data, H);
    const out = new Float64Array(N * H);
    const cache = new Map<number, Float64Array[]>();
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < k; j++) {
        const e = ids.data[n * k + j];
        if (e < 0) continue; // an expert another rank holds (local_ids)
        let ws = cache.get(e);
        if (!ws) cache.set(e, (ws = [0, 1, 2].map((m) => weightOf(e, m))));
        const y = expertMlp(xq.subarray(n * H, (n + 1) * H), ws[0], ws[1], ws[2], H, I, (h) => fakeQuant(h, I));
        for (let i = 0; i < H; i++) out[n * H + i] += w.data[n * k + j] * y[i];
      }
    }
    return [tensor([N, H], out)];
  },
  cost(inputs, outputs, attrs, bindings) {
    // Only the experts some token picked are read: at most min(E, N·k) of them.
    const [N, H] = resolveShape(inputs[0].shape, bindings);
    const k = resolveShape(inputs[1].shape, bindings)[1];
    const E = attrs.numExperts as number;
    const I = resolveShape(inputs[3].shape, bindings)[1];
    let stacks = 0;
    for (const t of inputs.slice(3)) stacks += byteSize(t, bindings);
    const touched = Math.min(E, N * k);
    const activations = ioBytes(inputs.slice(0, 3), outputs, bindings);
    return { flops: 6 * N * k * H * I, bytes: (touched * stacks) / E + activations };
  },
});
