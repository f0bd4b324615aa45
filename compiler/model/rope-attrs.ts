import type { ModelConfig } from '../config/model-config.ts';
import type { RopeParams } from '../ir/ops/rope-frequencies.ts';
import { yarnMscale } from '../ir/ops/rope-frequencies.ts';

/** The rope op's attrs for this config: plain numbers, so nodes print and hash-cons by value. */
export function ropeAttrs(c: ModelConfig): Record<keyof RopeParams, number | string> {
  const yarn = c.rope.type === 'yarn' ? c.rope : null;
  return {
    dim: c.qkRopeHeadDim,
    theta: c.ropeTheta,
    scaling: yarn ? 'yarn' : 'none',
    factor: yarn?.factor ?? 1,
    originalMax: yarn?.originalMaxPositionEmbeddings ?? c.maxPositionEmbeddings,
    betaFast: yarn?.betaFast ?? 0,
    betaSlow: yarn?.betaSlow ?? 0,
    mscale: yarn?.mscale ?? 1,
    mscaleAllDim: yarn?.mscaleAllDim ?? 1,
  };
}

/**
 * (qk_nope + qk_rope)^−½, times mscale² under YaRN: the softmax temperature both HF and our
 * kernels use (DeepSeek's own code applies mscale² only past 4096 positions; we follow HF).
 */
export function softmaxScale(c: ModelConfig): number {
  const base = (c.qkNopeHeadDim + c.qkRopeHeadDim) ** -0.5;
  if (c.rope.type !== 'yarn') return base;
  const m = yarnMscale(c.rope.factor, c.rope.mscaleAllDim);
  return base * m * m;
}
