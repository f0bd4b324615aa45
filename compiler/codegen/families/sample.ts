import { defineFamily } from '../kernel-family.ts';
import { expectContiguous, rowsOf } from './operands.ts';

/**
 * sample: logits[rows, V] f32, temperature/top_p/uniform [rows] f32 → ids[rows] i32 (the `sample`
 * op: argmax when temperature ≤ 0, else top-p sampling of softmax(logits / temperature) with the
 * row's uniform draw). One block per row (GPU), a chunk of ROWS rows per block (cpu).
 *
 * The reference sorts the row by probability; a block does not sort. Every token gets a 64-bit key
 * that orders it exactly as the reference does: the logit's bits made order-preserving (−0 as +0)
 * above the bits of (2^IDX_BITS − 1 − index), so a larger key is a larger logit — softmax is
 * monotone, so a larger probability — or an equal one at a lower index. With S(k) = the mass of
 * the tokens whose key is ≥ k (non-increasing in k), both steps of top-p sampling are searches for
 * the largest key k with S(k) past a target:
 *
 * 1. the last kept token: the largest k with S(k) ≥ top_p · Z (skipped when top_p ≥ 1; Z = Σ q);
 *    its S is the kept mass M;
 * 2. the chosen token: the largest k with S(k) > uniform · M (and at least the last kept key).
 *
 * A search fixes the key RADIX_BITS bits at a time from the top: one pass over the row sums, for
 * each digit value d, the mass of the tokens that share the bits fixed so far and have a digit
 * ≥ d (tokens above the prefix are carried as one number), and takes the largest d whose S passes.
 * After the first digits few tokens still share the prefix, so later passes mostly read and
 * compare. q = exp((x − max) / T) and every sum are float64, so the masses equal the reference's
 * up to the order of float64 additions. Greedy (temperature ≤ 0) is search 2 with every weight 1
 * and target 0: the largest key, the first maximal logit.
 */
export const sample = defineFamily({
  name: 'sample',
  op: 'sample',
  template: 'sample',
  doc: 'token ids from f32 logits rows: argmax or temperature + top-p sampling by radix search over (logit, index) keys, float64 masses; one block per row',
  constants(_node, o) {
    const x = rowsOf('logits', o.inputs[0]); // [rows, V]
    for (const [i, t] of [...o.inputs.slice(1), ...o.outputs].entries()) expectContiguous(`operand ${i + 1}`, t);
    return { V: x.width, rows: x.rows, xStride: x.rowStride };
  },
  tunables: {
    gpu: { THREADS: { default: 512, space: [128, 256, 512, 1024] }, RADIX_BITS: { default: 4, space: [1, 2, 4] } },
    cpu: { ROWS: { default: 1, space: [1, 4, 16] }, RADIX_BITS: { default: 8, space: [1, 2, 4, 8] } },
  },
  constraints: [
    { expr: 'V >= 1 && V < 2147483648', why: 'a token index fits 31 bits, so a key (32 logit bits + index bits) fits 63' },
    { expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' },
    { expr: 'THREADS < 1024 || RADIX_BITS == 1', why: '1024 threads leave 64 registers: 2^RADIX_BITS float64 sums spill above RADIX_BITS 1 (ptxas, sm_90a)', target: 'gpu' },
  ],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), '1', '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['logits', 'temperature', 'top_p', 'uniform'], outputs: ['ids'] }),
  derive(c, t) {
    const idxBits = Math.max(1, Math.ceil(Math.log2(c.V as number)));
    const keyBits = 32 + idxBits;
    return { IDX_BITS: idxBits, KEY_BITS: keyBits, DIGITS: Math.ceil(keyBits / t.RADIX_BITS), RADIX: 2 ** t.RADIX_BITS };
  },
});
