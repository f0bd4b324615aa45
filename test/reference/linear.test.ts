import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { makeContext } from './context.ts';
import { e4m3Round } from './e4m3.ts';
import { linear, quantizeActivations } from './linear.ts';
import { Rng } from './prng.ts';
import { randomWeights } from './random-weights.ts';
import { repoConfig } from './test-configs.ts';
import type { RefTensor } from './weights.ts';

const fp8Config: ModelConfig = repoConfig('tiny-noqlora.json'); // quantized, 128×128 blocks

function ctxWith(tensors: Record<string, RefTensor>, actQuant: 'none' | 'fp8') {
  return makeContext(fp8Config, new Map(Object.entries(tensors)), actQuant, 'float64', 'prefill');
}

const filled = (shape: number[], f: (i: number) => number): RefTensor => ({ shape, data: Float64Array.from({ length: shape[0] * (shape[1] ?? 1) }, (_, i) => f(i)) });

describe('FP8 linear', () => {
  it("applies each 128×128 block's scale, partial edge blocks included", () => {
    // [200, 150] of ones; block (i, j) scaled by 4^i · 2^j; x all ones.
    const ctx = ctxWith({ 'p.weight': filled([200, 150], () => 1), 'p.weight_scale_inv': { shape: [2, 2], data: new Float64Array([1, 2, 4, 8]) } }, 'none');
    const y = linear(ctx, 'p', new Float64Array(150).fill(1));
    expect(y[0]).toBe(128 * 1 + 22 * 2);
    expect(y[127]).toBe(172);
    expect(y[128]).toBe(128 * 4 + 22 * 8);
    expect(y[199]).toBe(688);
  });

  it('W8A8 quantizes each 128-group of the input to e4m3 with s = max(amax, 1e-4)/448', () => {
    const w = { 'p.weight': filled([1, 4], () => 1), 'p.weight_scale_inv': { shape: [1, 1], data: new Float64Array([1]) } };
    const x = [448, 1, 0.5, 3.3]; // amax 448 → s = 1: 3.3 becomes 3.25
    expect(linear(ctxWith(w, 'fp8'), 'p', x)[0]).toBe(452.75);
    expect(linear(ctxWith(w, 'none'), 'p', x)[0]).toBeCloseTo(452.8, 12);

    const tiny = quantizeActivations([1e-6, 0, 0]); // amax under the floor: s = 1e-4/448, x/s = 4.48 → 4.5
    expect(tiny.s[0]).toBe(1e-4 / 448);
    expect(tiny.q[0]).toBe(4.5);

    const two = quantizeActivations(Float64Array.from({ length: 130 }, (_, k) => (k === 0 ? 896 : k === 128 ? -2 : k > 128 ? 1 : 3)));
    expect(Array.from(two.s)).toEqual([2, 2 / 448]); // one scale per group of 128, the last group partial
    expect(two.q[1]).toBe(1.5);
    expect(two.q[128]).toBe(-448);
  });

  it('W8A8 equals the product of the fake-quantized input with the dequantized weight', () => {
    const w = randomWeights(fp8Config, 7);
    const name = 'model.layers.0.self_attn.q_proj'; // [3·32, 200]: two K blocks, the second partial
    const weight = w.get(`${name}.weight`)!;
    const scale = w.get(`${name}.weight_scale_inv`)!;
    const [N, K] = weight.shape;
    const rng = new Rng(3);
    const x = Float64Array.from({ length: K }, () => rng.normal() * (1 + 10 * rng.next()));
    const y = linear(makeContext(fp8Config, w, 'fp8', 'float64', 'prefill'), name, x);
    const plain = linear(makeContext(fp8Config, w, 'none', 'float64', 'prefill'), name, x);
    for (let n = 0; n < N; n++) {
      let expected = 0;
      for (let k = 0; k < K; k++) {
        const g = k < 128 ? 0 : 1;
        const group = x.slice(g * 128, Math.min(K, g * 128 + 128));
        const s = Math.max(...group.map(Math.abs)) / 448;
        expected += e4m3Round(x[k] / s) * s * weight.data[n * K + k] * scale.data[Math.floor(n / 128) * 2 + g];
      }
      expect(Math.abs(y[n] - expected)).toBeLessThan(1e-12 * (1 + Math.abs(expected)));
    }
    // e4m3 keeps 3 mantissa bits: ~2 % rms error per input, and about as much on the output.
    const rel = Math.hypot(...y.map((v, n) => v - plain[n])) / Math.hypot(...plain);
    expect(rel).toBeGreaterThan(0.005);
    expect(rel).toBeLessThan(0.05);
  });
});
