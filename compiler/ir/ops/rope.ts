import { defineOp, ShapeError } from '../op.ts';
import { tensor } from '../tensor.ts';
import { tensorType } from '../types.ts';
import { elementwiseCost, expectArity, expectDim, last, numAttr } from './helpers.ts';
import { ropeAmplitude, ropeFrequencies, ropeParamsFromAttrs } from './rope-frequencies.ts';

/** Rotary embedding on interleaved pairs (2i, 2i+1) of the last axis, angle = position · freq_i. */
defineOp({
  name: 'rope',
  doc: 'rotate interleaved pairs of x[N, ..., d] by positions[N] · freq (YaRN-aware)',
  infer(inputs, attrs) {
    expectArity('rope', inputs, 2);
    const [x, positions] = inputs;
    const dim = numAttr('rope', attrs, 'dim');
    if (dim % 2 !== 0) throw new ShapeError('rope', `dim ${dim} must be even`);
    expectDim('rope', 'rotated width', last(x.shape), dim);
    expectDim('rope', 'positions length', positions.shape[0], x.shape[0]);
    return [tensorType(x.dtype, x.shape)];
  },
  reference([x, positions], attrs) {
    const p = ropeParamsFromAttrs(attrs);
    const freqs = ropeFrequencies(p);
    const amp = ropeAmplitude(p);
    const N = x.shape[0];
    const perToken = x.data.length / N;
    const out = new Float64Array(x.data.length);
    for (let n = 0; n < N; n++) {
      const pos = positions.data[n];
      for (let base = n * perToken; base < (n + 1) * perToken; base += p.dim) {
        for (let i = 0; i < p.dim / 2; i++) {
          const c = Math.cos(pos * freqs[i]) * amp;
          const s = Math.sin(pos * freqs[i]) * amp;
          const a = x.data[base + 2 * i];
          const b = x.data[base + 2 * i + 1];
          out[base + 2 * i] = a * c - b * s;
          out[base + 2 * i + 1] = a * s + b * c;
        }
      }
    }
    return [tensor(x.shape, out)];
  },
  cost: elementwiseCost(3),
});
