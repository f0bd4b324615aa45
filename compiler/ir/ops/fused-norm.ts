import { defineOp, ShapeError } from '../op.ts';
import { tensor } from '../tensor.ts';
import type { TensorType } from '../types.ts';
import { byteSize, numel, resolveShape, tensorType } from '../types.ts';
import { quantizeActRows } from './fp8-quant.ts';
import { expectDim, expectSameShape, ioBytes, last } from './helpers.ts';
import { rmsNormRows } from './norm.ts';

/**
 * One kernel for the step between two GEMMs: optional residual add (x + r, written back as the new
 * residual), RMSNorm, and optional FP8 quantization of the result for the next W8A8 GEMM.
 * inputs: [x, r?, w]; outputs: [sum?, normed, q?, s?].
 */
defineOp({
  name: 'fused_rms_norm',
  doc: '(x + r) → rms_norm · w → (e4m3 q, scales): residual, normed and quantized activations in one pass',
  infer(inputs, attrs) {
    const residual = attrs.residual === true;
    if (inputs.length !== (residual ? 3 : 2)) throw new ShapeError('fused_rms_norm', `expects ${residual ? 3 : 2} inputs, got ${inputs.length}`);
    const x = inputs[0];
    const w = inputs[inputs.length - 1];
    if (residual) expectSameShape('fused_rms_norm', x, inputs[1]);
    expectDim('fused_rms_norm', 'weight length', w.shape[0], last(x.shape));
    const outs: TensorType[] = [];
    if (residual) outs.push(tensorType(x.dtype, x.shape));
    outs.push(tensorType(x.dtype, x.shape));
    if (attrs.quant) {
      const D = last(x.shape) as number;
      outs.push(tensorType('fp8e4m3', x.shape), tensorType('f32', [...x.shape.slice(0, -1), Math.ceil(D / (attrs.block as number))]));
    }
    return outs;
  },
  reference(inputs, attrs) {
    const residual = attrs.residual === true;
    const x = inputs[0];
    const w = inputs[inputs.length - 1];
    const D = w.shape[0];
    const sum = residual ? x.data.map((v, i) => v + inputs[1].data[i]) : x.data;
    const normed = rmsNormRows(sum, w.data, attrs.eps as number);
    const outs = [];
    if (residual) outs.push(tensor(x.shape, sum));
    outs.push(tensor(x.shape, normed));
    if (attrs.quant) {
      const { q, s } = quantizeActRows(normed, D, attrs.block as number);
      outs.push(tensor(x.shape, q), tensor([...x.shape.slice(0, -1), Math.ceil(D / (attrs.block as number))], s));
    }
    return outs;
  },
  cost(inputs, outputs, _attrs, bindings) {
    const w = inputs[inputs.length - 1];
    return { flops: 5 * numel(resolveShape(inputs[0].shape, bindings)), bytes: ioBytes(inputs, outputs, bindings), weightBytes: byteSize(w, bindings) };
  },
});
