import { defineOp } from '../op.ts';
import { tensor } from '../tensor.ts';
import { tensorType } from '../types.ts';
import type { Bindings, TensorType } from '../types.ts';
import { expectArity, expectDim, expectDType, expectRank, ioBytes } from './helpers.ts';
import { numel, resolveShape } from '../types.ts';

/**
 * One row of final-logits sampling in float64, the definition the `sample` kernels are held to:
 *
 * - temperature ≤ 0 (or NaN): argmax, the lowest index among equal maxima;
 * - else p = softmax(logits / temperature); order the tokens by p descending, equal p by index
 *   ascending; keep the shortest prefix of that order whose cumulative probability reaches top_p
 *   (at least one token; top_p ≥ 1 keeps all); with kept mass M, return the first token of the
 *   prefix whose cumulative probability exceeds uniform · M (the last kept one if none does).
 *
 * Logits must be finite or −∞ (with at least one finite); uniform is one draw in [0, 1).
 */
export function sampleRow(logits: ArrayLike<number>, temperature: number, topP: number, uniform: number): number {
  const V = logits.length;
  if (!(temperature > 0)) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  const z = Float64Array.from({ length: V }, (_, i) => logits[i] / temperature);
  let m = -Infinity;
  for (const v of z) m = Math.max(m, v);
  const p = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += p[i] = Math.exp(z[i] - m);
  for (let i = 0; i < V; i++) p[i] /= sum;
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
  let kept = V;
  if (topP < 1) {
    let cum = 0;
    for (let k = 0; k < V; k++) {
      cum += p[order[k]];
      if (cum >= topP) {
        kept = k + 1;
        break;
      }
    }
  }
  let mass = 0;
  for (let k = 0; k < kept; k++) mass += p[order[k]];
  const r = uniform * mass;
  let cum = 0;
  for (let k = 0; k < kept; k++) {
    cum += p[order[k]];
    if (cum > r) return order[k];
  }
  return order[kept - 1];
}

function inferSample(inputs: readonly TensorType[]): TensorType[] {
  expectArity('sample', inputs, 4);
  const [logits, temperature, topP, uniform] = inputs;
  expectRank('sample', 'logits', logits, 2);
  expectDType('sample', 'logits', logits, ['f32']);
  const rows = logits.shape[0];
  for (const [what, t] of [['temperature', temperature], ['top_p', topP], ['uniform', uniform]] as const) {
    expectRank('sample', what, t, 1);
    expectDType('sample', what, t, ['f32']);
    expectDim('sample', `${what} length`, t.shape[0], rows);
  }
  return [tensorType('i32', [rows])];
}

defineOp({
  name: 'sample',
  doc: 'token ids[N] from logits[N, V] f32 per row: argmax when temperature ≤ 0, else top-p sampling of softmax(logits / temperature) with one uniform draw',
  infer: inferSample,
  reference([logits, temperature, topP, uniform]) {
    const [N, V] = logits.shape;
    const ids = Float64Array.from({ length: N }, (_, n) => sampleRow(logits.data.subarray(n * V, (n + 1) * V), temperature.data[n], topP.data[n], uniform.data[n]));
    return [tensor([N], ids)];
  },
  cost(inputs, outputs, _attrs, bindings: Bindings) {
    // A softmax (exp, add, compare) per logit; the kernel reads a row several times, but from cache.
    return { flops: 4 * numel(resolveShape(inputs[0].shape, bindings)), bytes: ioBytes(inputs, outputs, bindings) };
  },
});
