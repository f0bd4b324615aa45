import { E4M3FN_MAX, decodeE4M3FN, encodeE4M3FN } from '../../checkpoint/fp8.ts';

/**
 * Value-level FP8 e4m3fn rounding, as the kernels quantize activations: the checkpoint codec's
 * round to nearest even, saturating at ±448 (e4m3fn has no infinities).
 */
export const E4M3_MAX = E4M3FN_MAX;

export function roundToE4m3(x: number): number {
  return decodeE4M3FN(encodeE4M3FN(x));
}

/** The floor DeepSeek's kernels put under a group's amax so an all-zero group gets a finite scale. */
export const ACT_AMAX_FLOOR = 1e-4;

/**
 * Per 1×block groups along the last axis: s = max(amax, 1e−4)/448, q = e4m3(x / s).
 * Returns q (as e4m3 values) and s ([rows, ⌈K/block⌉]).
 */
export function quantizeActRows(x: Float64Array, K: number, block: number): { q: Float64Array; s: Float64Array } {
  const rows = x.length / K;
  const kb = Math.ceil(K / block);
  const q = new Float64Array(x.length);
  const s = new Float64Array(rows * kb);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < kb; b++) {
      const lo = r * K + b * block;
      const hi = r * K + Math.min((b + 1) * block, K);
      let amax = 0;
      for (let i = lo; i < hi; i++) amax = Math.max(amax, Math.abs(x[i]));
      const scale = Math.max(amax, ACT_AMAX_FLOOR) / E4M3_MAX;
      s[r * kb + b] = scale;
      for (let i = lo; i < hi; i++) q[i] = roundToE4m3(x[i] / scale);
    }
  }
  return { q, s };
}

/** q · s per 1×block group along the last axis: what a W8A8 GEMM multiplies, as plain values. */
export function dequantActRows(q: Float64Array, s: Float64Array, K: number, block: number): Float64Array {
  const kb = Math.ceil(K / block);
  return q.map((v, i) => v * s[Math.floor(i / K) * kb + Math.floor((i % K) / block)]);
}
