import type { Fp8Quantization } from '../../compiler/config/model-config.ts';
import { stored, storedF32, type RefContext } from './context.ts';
import { E4M3_MAX, e4m3Round } from './e4m3.ts';
import { matVec, type Vec } from './vec.ts';
import { tensorOf, type RefTensor } from './weights.ts';

/** Activations are quantized in groups of this many along K (DeepSeek's act_quant block). */
export const ACT_GROUP = 128;

/**
 * y = W·x for the checkpoint linear `name` ('….q_a_proj'): its '.weight' [N, K] and, when the
 * config is quantized, its '.weight_scale_inv'. With actQuant 'fp8' the input is quantized too
 * (W8A8) and the product accumulates blockwise, as the FP8 GEMM does.
 */
export function linear(ctx: RefContext, name: string, x: ArrayLike<number>, actQuant = ctx.actQuant): Vec {
  const weight = tensorOf(ctx.w, `${name}.weight`);
  const [N, K] = weight.shape;
  if (x.length !== K) throw new Error(`reference: ${name} takes ${K} inputs, got ${x.length}`);
  const q = ctx.config.quantization;
  if (!q) return matVec(weight.data, N, K, x);
  const scale = tensorOf(ctx.w, `${name}.weight_scale_inv`, [Math.ceil(N / q.blockN), Math.ceil(K / q.blockK)]);
  if (actQuant === 'fp8') return w8a8(weight, scale, q, quantizeActivations(x, (v) => storedF32(ctx, v)));
  return matVec(dequantized(weight, scale, q), N, K, x);
}

/**
 * What a linear reads of a fused producer's output (a norm or SwiGLU, `y` its float32 row): in
 * W8A8 the producer quantizes that row itself; otherwise it stores the row (bf16 in 'bf16' mode).
 */
export function fusedOutput(ctx: RefContext, y: Vec): Vec {
  return ctx.actQuant === 'fp8' && ctx.config.quantization ? y : stored(ctx, y);
}

/** The linear `name`'s weight [N, K] as float64 values, dequantized when the config is quantized. */
export function weightValues(ctx: RefContext, name: string): RefTensor {
  const weight = tensorOf(ctx.w, `${name}.weight`);
  const q = ctx.config.quantization;
  if (!q) return weight;
  const [N, K] = weight.shape;
  const scale = tensorOf(ctx.w, `${name}.weight_scale_inv`, [Math.ceil(N / q.blockN), Math.ceil(K / q.blockK)]);
  return { shape: weight.shape, data: dequantized(weight, scale, q) };
}

/**
 * Per 1×ACT_GROUP group: s = max(amax, 1e-4)/448, q = e4m3(x/s). q holds e4m3 values, s one scale
 * per group. `f32` rounds s (a float32 tensor) and x/s before e4m3 as the kernels do, where the
 * reference stores as they do (storedF32).
 */
export function quantizeActivations(x: ArrayLike<number>, f32 = (v: number) => v): { q: Float64Array; s: Float64Array } {
  const groups = Math.ceil(x.length / ACT_GROUP);
  const q = new Float64Array(x.length);
  const s = new Float64Array(groups);
  for (let g = 0; g < groups; g++) {
    const end = Math.min(x.length, (g + 1) * ACT_GROUP);
    let amax = 0;
    for (let k = g * ACT_GROUP; k < end; k++) amax = Math.max(amax, Math.abs(x[k]));
    s[g] = f32(Math.max(amax, 1e-4) / E4M3_MAX);
    for (let k = g * ACT_GROUP; k < end; k++) q[k] = e4m3Round(f32(x[k] / s[g]));
  }
  return { q, s };
}

/** y[n] = Σ over K segments of (Σ q·w_fp8) · s_a · s_w; a segment ends where an activation group or a weight block does. */
function w8a8(weight: RefTensor, scale: RefTensor, quant: Fp8Quantization, { q, s }: { q: Float64Array; s: Float64Array }): Vec {
  const [N, K] = weight.shape;
  const sCols = scale.shape[1];
  const y = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const sRow = Math.floor(n / quant.blockN) * sCols;
    let acc = 0;
    let sum = 0;
    for (let k = 0; k < K; k++) {
      acc += q[k] * weight.data[n * K + k];
      const next = k + 1;
      if (next === K || next % ACT_GROUP === 0 || next % quant.blockK === 0) {
        sum += acc * s[Math.floor(k / ACT_GROUP)] * scale.data[sRow + Math.floor(k / quant.blockK)];
        acc = 0;
      }
    }
    y[n] = sum;
  }
  return y;
}

// Dequantized weights, made once per weight tensor (and the scale it was made with).
const dequantCache = new WeakMap<RefTensor, { scale: RefTensor; data: Float64Array }>();

/** w[n, k] = value[n, k] · scale[⌊n/blockN⌋, ⌊k/blockK⌋]; exact in float64 (4-bit × 24-bit significands). */
function dequantized(weight: RefTensor, scale: RefTensor, quant: Fp8Quantization): Float64Array {
  const hit = dequantCache.get(weight);
  if (hit && hit.scale === scale) return hit.data;
  const [N, K] = weight.shape;
  const sCols = scale.shape[1];
  const data = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      data[n * K + k] = weight.data[n * K + k] * scale.data[Math.floor(n / quant.blockN) * sCols + Math.floor(k / quant.blockK)];
    }
  }
  dequantCache.set(weight, { scale, data });
  return data;
}
