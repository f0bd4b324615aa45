import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { checkpointTensors } from '../../compiler/model/checkpoint-tensors.ts';
import { e4m3Decode, e4m3Encode } from './e4m3.ts';
import { Rng } from './prng.ts';
import type { RefTensor } from './weights.ts';

// FP8 codes are drawn by rounding a normal of this spread, so values are bell-shaped rather than
// log-uniform over the codes, and |value| rarely reaches the 448 limit.
const FP8_STD = 64;

/**
 * Random weights for every tensor of the config's checkpoint, each exactly representable in its
 * checkpoint dtype (e4m3, bf16, f32) so a real checkpoint could hold them. Linears get
 * magnitude ~1/sqrt(in) so activations stay O(1) through the layers; norms sit near 1.
 */
export function randomWeights(config: ModelConfig, seed: number): Map<string, RefTensor> {
  const rng = new Rng(seed);
  const list = checkpointTensors(config);
  const shapes = new Map(list.map((t) => [t.name, t.shape]));
  const out = new Map<string, RefTensor>();
  for (const t of list) {
    const shape = [...t.shape];
    const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
    if (t.dtype === 'F8_E4M3') {
      for (let i = 0; i < data.length; i++) data[i] = e4m3Decode(e4m3Encode(rng.normal() * FP8_STD));
    } else if (t.scaleOf !== undefined) {
      // Blocks differ by up to 3× so a wrong block lookup shows.
      const fanIn = shapes.get(t.scaleOf)![1];
      for (let i = 0; i < data.length; i++) data[i] = Math.fround((0.5 + rng.next()) / (FP8_STD * Math.sqrt(fanIn)));
    } else if (t.dtype === 'F32') {
      // e_score_correction_bias: small, but enough to change some choices
      for (let i = 0; i < data.length; i++) data[i] = Math.fround(0.05 * rng.normal());
    } else if (shape.length === 1) {
      // every 1-D bf16 tensor is a norm weight
      for (let i = 0; i < data.length; i++) data[i] = toBf16(1 + 0.1 * rng.normal());
    } else {
      const std = t.module === 'embedding' || t.name.endsWith('embed_tokens.weight') ? 1 : 1 / Math.sqrt(shape[1]);
      for (let i = 0; i < data.length; i++) data[i] = toBf16(std * rng.normal());
    }
    out.set(t.name, { shape, data });
  }
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Nearest bf16 (ties to even) of x, through float32. */
export function toBf16(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  u32[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000) >>> 0;
  return f32[0];
}
