import { defineOp, ShapeError } from '../op.ts';
import type { Tensor } from '../tensor.ts';
import { tensor } from '../tensor.ts';
import type { TensorType } from '../types.ts';
import { byteSize, resolveShape, tensorType } from '../types.ts';
import { sigmoid } from './elementwise.ts';
import { activationArity, blockScaledRows, checkGemmOperands, gemmEpilogue, gemmOutputs } from './gemm.ts';
import { expectDim, expectRank, ioBytes } from './helpers.ts';
import { linearRows } from './linear.ts';
import { routeToken } from './moe.ts';

/**
 * The MoE layer as kernels: route → dispatch (rows grouped by expert) → grouped GEMMs → combine.
 * Shared experts may ride along as experts E … E+n_shared−1 that every token picks with weight 1.
 * Row tensors have shape [N, K', ·]: the N·K' (token, slot) rows with K' = k + shared, reordered
 * so that each expert's rows are contiguous.
 */

defineOp({
  name: 'moe_route',
  doc: 'x[N, H] · gate[E, H]ᵀ in fp32 → sigmoid → noaux_tc group-limited top-k → ids[N, k], weights[N, k]',
  infer([x, gate, bias], attrs) {
    expectRank('moe_route', 'gate', gate, 2);
    expectDim('moe_route', 'gate width', gate.shape[1], x.shape[1]);
    expectDim('moe_route', 'bias length', bias.shape[0], gate.shape[0]);
    const k = attrs.topK as number;
    return [tensorType('i32', [x.shape[0], k]), tensorType('f32', [x.shape[0], k])];
  },
  reference([x, gate, bias], attrs) {
    const [E, H] = gate.shape;
    const N = x.shape[0];
    const k = attrs.topK as number;
    const logits = linearRows(x.data, gate.data, E, H);
    const ids = new Float64Array(N * k);
    const weights = new Float64Array(N * k);
    for (let n = 0; n < N; n++) {
      const r = routeToken(logits.subarray(n * E, (n + 1) * E).map(sigmoid), bias.data, attrs);
      ids.set(r.idx, n * k);
      weights.set(r.weights, n * k);
    }
    return [tensor([N, k], ids), tensor([N, k], weights)];
  },
  cost(inputs, outputs, _attrs, bindings) {
    const [N, H] = resolveShape(inputs[0].shape, bindings);
    const E = inputs[1].shape[0] as number;
    return { flops: 2 * N * E * H + 8 * N * E, bytes: ioBytes(inputs, outputs, bindings), weightBytes: byteSize(inputs[1], bindings) + byteSize(inputs[2], bindings) };
  },
});

/**
 * Row order of a dispatch: slots (n·K' + j) sorted by expert, stable. A slot whose id is −1 (an
 * expert another expert-parallel rank holds) is not dispatched: it sorts last, as row_expert and
 * row_slot −1, which grouped_gemm and moe_combine skip.
 */
export function dispatchOrder(ids: Tensor, sharedExperts: number, numExperts: number): { rowExpert: number[]; rowSlot: number[] } {
  const [N, k] = ids.shape;
  const width = k + sharedExperts;
  const slots: [number, number][] = [];
  const dropped: [number, number][] = [];
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < width; j++) {
      const e = j < k ? ids.data[n * k + j] : numExperts + j - k;
      if (e < 0) dropped.push([-1, -1]);
      else slots.push([e, n * width + j]);
    }
  }
  slots.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  slots.push(...dropped);
  return { rowExpert: slots.map((s) => s[0]), rowSlot: slots.map((s) => s[1]) };
}

defineOp({
  name: 'moe_dispatch',
  doc: "ids[N, k], payloads[N, D] → row_expert, row_slot [N, K'] and each payload's rows grouped by expert [N, K', D]",
  infer(inputs, attrs) {
    const [ids, ...payloads] = inputs;
    expectRank('moe_dispatch', 'ids', ids, 2);
    const width = (ids.shape[1] as number) + (attrs.sharedExperts as number);
    const outs: TensorType[] = [tensorType('i32', [ids.shape[0], width]), tensorType('i32', [ids.shape[0], width])];
    for (const p of payloads) {
      expectRank('moe_dispatch', 'payload', p, 2);
      expectDim('moe_dispatch', 'payload rows', p.shape[0], ids.shape[0]);
      outs.push(tensorType(p.dtype, [ids.shape[0], width, p.shape[1]]));
    }
    return outs;
  },
  reference(inputs, attrs) {
    const [ids, ...payloads] = inputs;
    const shared = attrs.sharedExperts as number;
    const { rowExpert, rowSlot } = dispatchOrder(ids, shared, attrs.numExperts as number);
    const [N, k] = ids.shape;
    const width = k + shared;
    const outs = [tensor([N, width], rowExpert), tensor([N, width], rowSlot)];
    for (const p of payloads) {
      const D = p.shape[1];
      const sorted = new Float64Array(N * width * D);
      rowSlot.forEach((slot, row) => slot >= 0 && sorted.set(p.data.subarray(Math.floor(slot / width) * D, (Math.floor(slot / width) + 1) * D), row * D));
      outs.push(tensor([N, width, D], sorted));
    }
    return outs;
  },
  cost(inputs, outputs, _attrs, bindings) {
    return { flops: 0, bytes: ioBytes(inputs, outputs, bindings) };
  },
});

defineOp({
  name: 'grouped_gemm',
  doc: "rows[N, K', K] · w[row_expert][N, K]ᵀ per row, the gemm family's weight forms and epilogues, one launch for all experts",
  infer(inputs, attrs) {
    const na = activationArity(attrs);
    const [rowExpert, w, ws] = inputs.slice(na);
    expectRank('grouped_gemm', 'weights', w, 3);
    expectRank('grouped_gemm', 'row_expert', rowExpert, 2);
    if (inputs.length !== na + (attrs.scaled ? 3 : 2)) throw new ShapeError('grouped_gemm', `unexpected operand count ${inputs.length}`);
    const [N] = checkGemmOperands('grouped_gemm', inputs.slice(0, na), w, ws, attrs);
    if (attrs.scaled) expectDim('grouped_gemm', 'scale experts', ws.shape[0], w.shape[0]);
    return gemmOutputs('grouped_gemm', inputs[0].shape.slice(0, -1), N, attrs);
  },
  reference(inputs, attrs) {
    const na = activationArity(attrs);
    const [rowExpert, w, ws] = inputs.slice(na);
    const [, N, K] = w.shape;
    const rows = rowExpert.data.length;
    const kb = attrs.scaled ? ws.shape[1] * ws.shape[2] : 0;
    const y = new Float64Array(rows * N);
    for (let r = 0; r < rows; r++) {
      const e = rowExpert.data[r];
      if (e < 0) continue; // not dispatched here: its row stays 0 and moe_combine skips it
      const act = inputs.slice(0, na).map((t) => {
        const width = t.shape[t.shape.length - 1];
        return tensor([1, width], t.data.subarray(r * width, (r + 1) * width));
      });
      const we = w.data.subarray(e * N * K, (e + 1) * N * K);
      const se = attrs.scaled ? ws.data.subarray(e * kb, (e + 1) * kb) : null;
      y.set(blockScaledRows(act, we, se, N, K, attrs), r * N);
    }
    return gemmEpilogue(y, N, attrs, inputs[0].shape.slice(0, -1));
  },
  cost(inputs, outputs, attrs, bindings) {
    const na = activationArity(attrs);
    const [rowExpert, w, ws] = inputs.slice(na);
    const rows = resolveShape(rowExpert.shape, bindings).reduce((a, b) => a * b, 1);
    const [E, N, K] = w.shape as number[];
    const perExpert = (byteSize(w, bindings) + (ws ? byteSize(ws, bindings) : 0)) / E;
    const weightBytes = Math.min(E, rows) * perExpert; // only experts some row picked are read
    const activations = ioBytes([...inputs.slice(0, na + 1)], outputs, bindings);
    return { flops: 2 * rows * N * K, bytes: activations + weightBytes, weightBytes };
  },
});

defineOp({
  name: 'moe_combine',
  doc: "y[N, K', H] rows back to tokens: Σ_j weights[n, j] · y(n, j), shared slots with weight 1",
  infer([y, rowSlot, weights]) {
    expectRank('moe_combine', 'y', y, 3);
    expectDim('moe_combine', 'row_slot', rowSlot.shape[1], y.shape[1]);
    expectDim('moe_combine', 'weights rows', weights.shape[0], y.shape[0]);
    return [tensorType('bf16', [y.shape[0], y.shape[2]])];
  },
  reference([y, rowSlot, weights]) {
    const [N, width, H] = y.shape;
    const k = weights.shape[1];
    const rowOfSlot = new Array<number>(N * width);
    rowSlot.data.forEach((slot, row) => slot >= 0 && (rowOfSlot[slot] = row));
    const out = new Float64Array(N * H);
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < width; j++) {
        const w = j < k ? weights.data[n * k + j] : 1;
        const row = rowOfSlot[n * width + j];
        if (row === undefined) continue; // an expert another rank holds
        for (let i = 0; i < H; i++) out[n * H + i] += w * y.data[row * H + i];
      }
    }
    return [tensor([N, H], out)];
  },
  cost(inputs, outputs, _attrs, bindings) {
    const [N, width, H] = resolveShape(inputs[0].shape, bindings);
    return { flops: 2 * N * width * H, bytes: ioBytes(inputs, outputs, bindings) };
  },
});
