import { describe, expect, it } from 'vitest';
import type { RopeScaling } from '../../compiler/config/model-config.ts';
import { applyRope, ropeAmplitude, ropeFrequencies, ropeTable, softmaxScale, yarnMscale, yarnRange } from './rope.ts';
import { repoConfig } from './test-configs.ts';

const v3 = repoConfig('deepseek-v3.json');

describe('YaRN for DeepSeek-V3 (configs/deepseek-v3.json)', () => {
  it('ramps between pair 10 and pair 23', () => {
    expect(v3.qkRopeHeadDim).toBe(64);
    expect(yarnRange(64, 10000, 4096, 32, 1)).toEqual({ low: 10, high: 23 }); // from 10.47 and 22.51
  });

  it('keeps fast pairs, divides slow pairs by 40 and blends linearly between', () => {
    const f = ropeFrequencies(v3.qkRopeHeadDim, v3.ropeTheta, v3.rope);
    expect(f).toHaveLength(32);
    // Expected values worked out by hand from θ^(−2i/64) = 10^(−i/8):
    expect(f[0]).toBe(1);
    expect(f[10]).toBeCloseTo(0.05623413251903491, 16); // 10^−1.25, ramp 0
    expect(f[16]).toBeCloseTo(0.0055, 16); // 0.01 · (6/13 / 40 + 7/13)
    expect(f[20]).toBeCloseTo(7.905694150420948e-4, 17); // 10^−2.5 · (10/13 / 40 + 3/13) = 10^−2.5 / 4
    expect(f[23]).toBeCloseTo(3.33380358040831e-5, 18); // 10^−2.875 / 40, ramp 1
    expect(f[30]).toBeCloseTo(4.445698525097306e-6, 19); // 10^−3.75 / 40
  });

  it('scales softmax by mscale² (0.135234), not by 1 (0.0721688)', () => {
    expect(yarnMscale(40, 1)).toBeCloseTo(1.36889, 5);
    expect(softmaxScale(v3)).toBeCloseTo(0.135234, 6);
    expect(192 ** -0.5).toBeCloseTo(0.0721688, 7); // what forgetting mscale² gives
  });

  it('leaves cos/sin unscaled when mscale equals mscale_all_dim, scales them otherwise', () => {
    expect(ropeAmplitude(v3.rope)).toBe(1);
    const yarn = v3.rope as Extract<RopeScaling, { type: 'yarn' }>;
    expect(ropeAmplitude({ ...yarn, mscale: 2 })).toBeCloseTo((0.2 * Math.log(40) + 1) / (0.1 * Math.log(40) + 1), 15);
  });
});

describe('plain RoPE', () => {
  it("uses θ^(−2i/d) and an unscaled softmax when rope_scaling is null", () => {
    const dense = repoConfig('tiny-bf16-dense1.json');
    expect(dense.rope.type).toBe('none');
    expect(ropeFrequencies(8, 10000, dense.rope)).toEqual([1, 0.1, 0.01, 0.001].map((v, i) => expect.closeTo(v, 15 + i)));
    expect(softmaxScale(dense)).toBeCloseTo(24 ** -0.5, 15);
  });

  it('rotates adjacent pairs (2i, 2i+1), not the two halves', () => {
    const x = new Float64Array([1, 0, 0, 0]);
    applyRope(x, 0, 1, { freqs: [1, 0.01], amplitude: 1 });
    expect(Array.from(x)).toEqual([Math.cos(1), Math.sin(1), 0, 0]); // rotate-half would move x[0] into x[2]
  });

  it('makes q·k depend only on the distance between positions', () => {
    const table = ropeTable(v3);
    const q = Float64Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.3));
    const k = Float64Array.from({ length: 64 }, (_, i) => Math.cos(i * 0.7));
    const score = (pq: number, pk: number) => {
      const a = q.slice();
      const b = k.slice();
      applyRope(a, 0, pq, table);
      applyRope(b, 0, pk, table);
      return a.reduce((s, v, i) => s + v * b[i], 0);
    };
    expect(score(7, 3)).toBeCloseTo(score(1004, 1000), 10);
    expect(score(7, 3)).not.toBeCloseTo(score(8, 3), 3);
  });
});
