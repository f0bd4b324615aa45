import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { cacheNames } from '../../compiler/model/build-model.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { tensor } from '../../compiler/ir/tensor.ts';

/**
 * Interpreter inputs for one step: checkpoint weights plus tokens, positions and caches.
 * Caches are [batch, S, ·]; positions past what a sequence has written stay zero and are masked.
 */
export function stepInputs(weights: ReadonlyMap<string, Tensor>, tokens: number[], positions: number[], caches: Map<string, Tensor>): Map<string, Tensor> {
  const inputs = new Map<string, Tensor>(weights);
  inputs.set('tokens', tensor([tokens.length], tokens));
  inputs.set('positions', tensor([positions.length], positions));
  for (const [name, t] of caches) inputs.set(name, t);
  return inputs;
}

/** Empty caches for `batch` sequences of `S` positions. */
export function emptyCaches(config: ModelConfig, batch: number, S: number): Map<string, Tensor> {
  const caches = new Map<string, Tensor>();
  for (let l = 0; l < config.numLayers; l++) {
    const names = cacheNames(l);
    caches.set(names.cKv, tensor([batch, S, config.kvLoraRank]));
    caches.set(names.kPe, tensor([batch, S, config.qkRopeHeadDim]));
  }
  return caches;
}

/** The caches a step wrote (its outputs), grown by `extra` zero positions for the next step. */
export function grownCaches(config: ModelConfig, outputs: ReadonlyMap<string, Tensor>, extra: number): Map<string, Tensor> {
  const caches = new Map<string, Tensor>();
  for (let l = 0; l < config.numLayers; l++) {
    for (const name of Object.values(cacheNames(l))) {
      const t = outputs.get(name)!;
      const [B, S, C] = t.shape;
      const data = new Float64Array(B * (S + extra) * C);
      for (let b = 0; b < B; b++) data.set(t.data.subarray(b * S * C, (b + 1) * S * C), b * (S + extra) * C);
      caches.set(name, tensor([B, S + extra, C], data));
    }
  }
  return caches;
}
