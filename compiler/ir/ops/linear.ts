import { defineOp } from '../op.ts';
import type { Tensor } from '../tensor.ts';
import { tensor } from '../tensor.ts';
import { byteSize, numel, resolveShape, tensorType } from '../types.ts';
import { dtypeAttr, expectArity, expectDType, expectDim, expectRank, ioBytes, last, numAttr } from './helpers.ts';

/** y[r, n] = Σ_k x[r, k] · w[n, k] for every row r of x: a linear layer, weight stored [out, in]. */
export function linearRows(x: Float64Array, w: Float64Array, N: number, K: number): Float64Array {
  const rows = x.length / K;
  const y = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x[r * K + k] * w[n * K + k];
      y[r * N + n] = acc;
    }
  }
  return y;
}

/** w[n, k] · scale[⌊n/bn⌋, ⌊k/bk⌋]: the checkpoint's `weight_scale_inv` semantics. */
export function dequantBlocks(w: Tensor, scale: Tensor, blockN: number, blockK: number): Float64Array {
  const [N, K] = w.shape;
  const kb = scale.shape[1];
  const out = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      out[n * K + k] = w.data[n * K + k] * scale.data[Math.floor(n / blockN) * kb + Math.floor(k / blockK)];
    }
  }
  return out;
}

defineOp({
  name: 'matmul',
  doc: 'x[..., K] · w[N, K]ᵀ → [..., N] (a linear layer without bias)',
  infer(inputs, attrs) {
    expectArity('matmul', inputs, 2);
    const [x, w] = inputs;
    expectRank('matmul', 'weight', w, 2);
    expectDim('matmul', 'input features', last(x.shape), w.shape[1]);
    return [tensorType(dtypeAttr(attrs, 'dtype', x.dtype), [...x.shape.slice(0, -1), w.shape[0]])];
  },
  reference([x, w]) {
    const [N, K] = w.shape;
    return [tensor([...x.shape.slice(0, -1), N], linearRows(x.data, w.data, N, K))];
  },
  cost(inputs, outputs, _attrs, bindings) {
    const rows = numel(resolveShape(inputs[0].shape.slice(0, -1), bindings));
    const [N, K] = resolveShape(inputs[1].shape, bindings);
    return { flops: 2 * rows * N * K, bytes: ioBytes(inputs, outputs, bindings), weightBytes: byteSize(inputs[1], bindings) };
  },
});

defineOp({
  name: 'dequant_fp8',
  doc: 'fp8 w[N, K] × f32 scale[⌈N/bn⌉, ⌈K/bk⌉] per block → bf16 w',
  infer(inputs, attrs) {
    expectArity('dequant_fp8', inputs, 2);
    const [w, s] = inputs;
    expectRank('dequant_fp8', 'weight', w, 2);
    expectRank('dequant_fp8', 'scale', s, 2);
    expectDType('dequant_fp8', 'weight', w, ['fp8e4m3']);
    expectDType('dequant_fp8', 'scale', s, ['f32']);
    const bn = numAttr('dequant_fp8', attrs, 'blockN');
    const bk = numAttr('dequant_fp8', attrs, 'blockK');
    expectDim('dequant_fp8', 'scale rows', s.shape[0], Math.ceil((w.shape[0] as number) / bn));
    expectDim('dequant_fp8', 'scale columns', s.shape[1], Math.ceil((w.shape[1] as number) / bk));
    return [tensorType('bf16', w.shape)];
  },
  reference([w, s], attrs) {
    return [tensor(w.shape, dequantBlocks(w, s, attrs.blockN as number, attrs.blockK as number))];
  },
  cost(inputs, outputs, _attrs, bindings) {
    return { flops: numel(resolveShape(outputs[0].shape, bindings)), bytes: ioBytes(inputs, outputs, bindings) };
  },
});
