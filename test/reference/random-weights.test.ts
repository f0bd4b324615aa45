import { describe, expect, it } from 'vitest';
import { checkpointTensors } from '../../compiler/model/checkpoint-tensors.ts';
import { e4m3Round } from './e4m3.ts';
import { randomWeights, toBf16 } from './random-weights.ts';
import { repoConfig } from './test-configs.ts';

describe('randomWeights', () => {
  const config = repoConfig('tiny-noqlora.json'); // quantized, one layer shape off the 128 grid
  const w = randomWeights(config, 1);
  const list = checkpointTensors(config);

  it('holds every checkpoint tensor with its shape and nothing else', () => {
    expect([...w.keys()].sort()).toEqual(list.map((t) => t.name).sort());
    for (const t of list) {
      expect(w.get(t.name)!.shape).toEqual(t.shape);
      expect(w.get(t.name)!.data).toHaveLength(t.shape.reduce((a, b) => a * b, 1));
    }
  });

  it('gives each tensor values its checkpoint dtype holds exactly', () => {
    for (const t of list) {
      const d = w.get(t.name)!.data;
      if (t.dtype === 'F8_E4M3') {
        expect(d.every((v) => e4m3Round(v) === v)).toBe(true);
        expect(new Set(d).size).toBeGreaterThan(50); // many codes in use, not a handful
      } else if (t.dtype === 'BF16') {
        expect(d.every((v) => toBf16(v) === v && Number.isFinite(v))).toBe(true);
      } else {
        expect(d.every((v) => Math.fround(v) === v)).toBe(true);
      }
      if (t.scaleOf) expect(d.every((v) => v > 0)).toBe(true);
    }
  });

  it('gives linears a magnitude of about 1/sqrt(fan-in) after dequantization', () => {
    const v = w.get('model.layers.0.mlp.experts.0.down_proj.weight')!; // [200, 72]
    const s = w.get('model.layers.0.mlp.experts.0.down_proj.weight_scale_inv')!; // [2, 1]
    let ss = 0;
    v.data.forEach((x, i) => (ss += (x * s.data[Math.floor(i / 72 / 128)]) ** 2));
    const rms = Math.sqrt(ss / v.data.length);
    expect(rms * Math.sqrt(72)).toBeGreaterThan(0.5);
    expect(rms * Math.sqrt(72)).toBeLessThan(2);
  });

  it('repeats for a seed and changes with it', () => {
    const again = randomWeights(config, 1);
    const other = randomWeights(config, 2);
    const name = 'model.layers.1.self_attn.kv_b_proj.weight';
    expect(again.get(name)!.data).toEqual(w.get(name)!.data);
    expect(other.get(name)!.data).not.toEqual(w.get(name)!.data);
  });

  it('rounds to bf16 with ties to even', () => {
    expect(toBf16(1 + 2 ** -8)).toBe(1); // halfway, 1 is even
    expect(toBf16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6); // halfway, rounds up to the even neighbour
    expect(toBf16(1 + 2 ** -8 + 2 ** -20)).toBe(1 + 2 ** -7);
  });
});
