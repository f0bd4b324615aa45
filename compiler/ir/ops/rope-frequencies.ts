import type { Attrs } from '../graph.ts';

/** RoPE parameters as a rope node carries them (plain attrs so they print and hash). */
export interface RopeParams {
  readonly dim: number; // rotated dims per head (qk_rope_head_dim)
  readonly theta: number;
  readonly scaling: 'none' | 'yarn';
  readonly factor: number;
  readonly originalMax: number;
  readonly betaFast: number;
  readonly betaSlow: number;
  readonly mscale: number;
  readonly mscaleAllDim: number;
}

export function ropeParamsFromAttrs(attrs: Attrs): RopeParams {
  return attrs as unknown as RopeParams;
}

/** YaRN's attention-temperature correction: 0.1 · m · ln(s) + 1 for a context stretch s > 1. */
export function yarnMscale(factor: number, m: number): number {
  return factor <= 1 ? 1 : 0.1 * m * Math.log(factor) + 1;
}

/**
 * Rotation frequency of each pair (i < dim/2). With YaRN, high-frequency pairs keep θ^(−2i/d),
 * low-frequency pairs are divided by the factor, and a linear ramp between the beta_fast and
 * beta_slow wavelengths blends the two.
 */
export function ropeFrequencies(p: RopeParams): Float64Array {
  const half = p.dim / 2;
  const freqs = new Float64Array(half);
  for (let i = 0; i < half; i++) freqs[i] = p.theta ** ((-2 * i) / p.dim);
  if (p.scaling !== 'yarn') return freqs;
  const correction = (rotations: number) =>
    (p.dim * Math.log(p.originalMax / (rotations * 2 * Math.PI))) / (2 * Math.log(p.theta));
  const low = Math.max(Math.floor(correction(p.betaFast)), 0);
  let high = Math.min(Math.ceil(correction(p.betaSlow)), p.dim - 1);
  if (low === high) high += 0.001;
  for (let i = 0; i < half; i++) {
    const ramp = Math.min(Math.max((i - low) / (high - low), 0), 1);
    freqs[i] = (freqs[i] / p.factor) * ramp + freqs[i] * (1 - ramp);
  }
  return freqs;
}

/** Scale applied to cos and sin: 1 when mscale == mscale_all_dim, as in DeepSeek-V3. */
export function ropeAmplitude(p: RopeParams): number {
  if (p.scaling !== 'yarn') return 1;
  return yarnMscale(p.factor, p.mscale) / yarnMscale(p.factor, p.mscaleAllDim);
}
