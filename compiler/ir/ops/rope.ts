import type { Attrs } from '../graph.ts';
import { defineOp, ShapeError } from '../op.ts';
import { tensor } from '../tensor.ts';
import { tensorType } from '../types.ts';
import { elementwiseCost, expectArity, expectDim, last, numAttr } from './helpers.ts';
import { ropeAmplitude, ropeFrequencies, ropeParamsFromAttrs } from './rope-frequencies.ts';

/**
 * Rotates interleaved pairs (2i, 2i+1) of every `dim`-wide chunk of x, where x holds `positions.length`
 * tokens of equal size: angle = position · freq_i (YaRN-aware frequencies from the attrs).
 */
export function applyRope(x: Float64Array, positions: ArrayLike<number>, attrs: Attrs): Float64Array {
  const p = ropeParamsFromAttrs(attrs);
  const freqs = ropeFrequencies(p);
  const amp = ropeAmplitude(p);
  const perToken = x.length / positions.length;
  const out = new Float64Array(x.length);
  for (let n = 0; n < positions.length; n++) {
    const pos = positions[n];
    for (let base = n * perToken; base < (n + 1) * perToken; base += p.dim) {
      for (let i = 0; i < p.dim / 2; i++) {
        const c = Math.cos(pos * freqs[i]) * amp;
        const s = Math.sin(pos * freqs[i]) * amp;
        const a = x[base + 2 * i];
        const b = x[base + 2 * i + 1];
        out[base + 2 * i] = a * c - b * s;
        out[base + 2 * i + 1] = a * s + b * c;
      }
    }
  }
  return out;
}

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
    return [tensor(x.shape, applyRope(x.data, positions.data, attrs))];
  },
  cost: elementwiseCost(3),
});
