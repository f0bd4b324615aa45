import { defineOp } from '../op.ts';
import { tensor } from '../tensor.ts';
import { tensorType } from '../types.ts';
import { elementwiseCost, expectArity, expectDim, last, numAttr } from './helpers.ts';

/** Normalizes rows of `x[..., D]` by their root mean square (computed in fp32 on GPU). */
export function rmsNormRows(x: Float64Array, w: Float64Array, eps: number, out: Float64Array = new Float64Array(x.length)): Float64Array {
  const D = w.length;
  for (let r = 0; r < x.length / D; r++) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[r * D + i] ** 2;
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) out[r * D + i] = x[r * D + i] * inv * w[i];
  }
  return out;
}

defineOp({
  name: 'rms_norm',
  doc: 'x · rsqrt(mean(x²) + eps) · w over the last axis',
  infer(inputs, attrs) {
    expectArity('rms_norm', inputs, 2);
    numAttr('rms_norm', attrs, 'eps');
    const [x, w] = inputs;
    expectDim('rms_norm', 'weight length', w.shape[0], last(x.shape));
    return [tensorType(x.dtype, x.shape)];
  },
  reference([x, w], attrs) {
    return [tensor(x.shape, rmsNormRows(x.data, w.data, attrs.eps as number))];
  },
  cost: elementwiseCost(4),
});
