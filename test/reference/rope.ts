import type { ModelConfig, RopeScaling } from '../../compiler/config/model-config.ts';

/**
 * RoPE with DeepSeek-V3's YaRN, written from REFERENCE.md. Pair i (elements 2i, 2i+1 of the rope
 * dims) turns by position · freq_i; YaRN keeps the fast pairs (i < low), divides the slow ones
 * (i ≥ high) by the factor, and ramps linearly in between.
 */

/** YaRN's attention-temperature correction: 0.1 · m · ln(s) + 1 for a stretch s > 1. */
export function yarnMscale(factor: number, m: number): number {
  return factor <= 1 ? 1 : 0.1 * m * Math.log(factor) + 1;
}

/**
 * The ramp's ends as pair indices: the pair that turns betaFast (resp. betaSlow) times over the
 * original context, floor (resp. ceil), clamped to [0, dim − 1]. For V3 (dim 64): 10 and 23.
 */
export function yarnRange(dim: number, theta: number, originalMax: number, betaFast: number, betaSlow: number): { low: number; high: number } {
  // Pair i turns originalMax · θ^(−2i/dim) / 2π times; solve that for i.
  const pairTurning = (turns: number) => (dim * Math.log(originalMax / (turns * 2 * Math.PI))) / (2 * Math.log(theta));
  const low = Math.max(Math.floor(pairTurning(betaFast)), 0);
  const high = Math.min(Math.ceil(pairTurning(betaSlow)), dim - 1);
  return { low, high };
}

/** freq_i for i < dim/2. */
export function ropeFrequencies(dim: number, theta: number, rope: RopeScaling): number[] {
  const freqs: number[] = [];
  for (let i = 0; i < dim / 2; i++) freqs.push(1 / theta ** ((2 * i) / dim));
  if (rope.type === 'none') return freqs;
  const { low, high: h } = yarnRange(dim, theta, rope.originalMaxPositionEmbeddings, rope.betaFast, rope.betaSlow);
  const high = low === h ? h + 0.001 : h; // avoid 0/0 in the ramp
  return freqs.map((f, i) => {
    const ramp = Math.min(Math.max((i - low) / (high - low), 0), 1);
    return (f / rope.factor) * ramp + f * (1 - ramp);
  });
}

/** The factor on cos and sin: yarn_mscale(s, mscale) / yarn_mscale(s, mscale_all_dim); 1 for V3. */
export function ropeAmplitude(rope: RopeScaling): number {
  if (rope.type === 'none') return 1;
  return yarnMscale(rope.factor, rope.mscale) / yarnMscale(rope.factor, rope.mscaleAllDim);
}

/** (nope + rope)^-0.5 × mscale², mscale from mscale_all_dim (HF applies it whenever YaRN is on). */
export function softmaxScale(config: ModelConfig): number {
  const base = (config.qkNopeHeadDim + config.qkRopeHeadDim) ** -0.5;
  if (config.rope.type === 'none') return base;
  const m = yarnMscale(config.rope.factor, config.rope.mscaleAllDim);
  return base * m * m;
}

export interface RopeTable {
  readonly freqs: readonly number[];
  readonly amplitude: number;
}

export function ropeTable(config: ModelConfig): RopeTable {
  return { freqs: ropeFrequencies(config.qkRopeHeadDim, config.ropeTheta, config.rope), amplitude: ropeAmplitude(config.rope) };
}

/** Rotates x[off .. off + 2·freqs.length) in place, interleaved pairs (2i, 2i+1), at `position`. */
export function applyRope(x: Float64Array, off: number, position: number, rope: RopeTable): void {
  for (let i = 0; i < rope.freqs.length; i++) {
    const angle = position * rope.freqs[i];
    const c = Math.cos(angle) * rope.amplitude;
    const s = Math.sin(angle) * rope.amplitude;
    const a = x[off + 2 * i];
    const b = x[off + 2 * i + 1];
    x[off + 2 * i] = a * c - b * s;
    x[off + 2 * i + 1] = a * s + b * c;
  }
}
