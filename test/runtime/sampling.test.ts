/**
 * runtime/src/sampling: Philox4x32-10 against Random123's known answers and a BigInt model on
 * random inputs; the seeded draws (reproducible, addressable, exact float32 values in [0, 1),
 * evenly spread); option checks whose errors name the option; the kernel's per-row inputs; and
 * draws fed to the `sample` reference picking tokens at their probabilities.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { sampleRow } from '../../compiler/ir/ops/sample.ts';
import { SamplingParamsError, SamplingRng, generationDefaults, philox4x32, sampleInputs, samplingParams, samplingRow, seedKey } from '../../runtime/src/sampling/index.ts';

/** Philox4x32-10 written with BigInt arithmetic, straight from the paper. */
function philoxBig(ctr: readonly number[], key: readonly number[]): number[] {
  const M = 0xffffffffn;
  let c = ctr.map(BigInt);
  let k = key.map(BigInt);
  for (let r = 0; r < 10; r++) {
    if (r > 0) k = [(k[0] + 0x9e3779b9n) & M, (k[1] + 0xbb67ae85n) & M];
    const p0 = 0xd2511f53n * c[0];
    const p1 = 0xcd9e8d57n * c[2];
    c = [(p1 >> 32n) ^ c[1] ^ k[0], p1 & M, (p0 >> 32n) ^ c[3] ^ k[1], p0 & M];
  }
  return c.map(Number);
}

describe('Philox4x32-10', () => {
  it("matches Random123's known-answer vectors", () => {
    const hex = (w: number[]) => w.map((x) => x.toString(16).padStart(8, '0')).join(' ');
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const f = 0xffffffff;
    expect(hex(philox4x32([f, f, f, f], [f, f]))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toBe('d16cfe09 94fdcceb 5001e420 24126ea1');
  });

  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  test.prop([fc.tuple(u32, u32, u32, u32), fc.tuple(u32, u32)])('equals a BigInt model on random counters and keys', (ctr, key) => {
    expect(philox4x32(ctr, key)).toEqual(philoxBig(ctr, key));
  });
});

describe('SamplingRng', () => {
  test.prop([fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.nat(1000)])('same seed, same draws; next() walks uniformAt', (seed, start) => {
    const a = new SamplingRng(seed);
    const b = new SamplingRng(seed);
    b.position = start;
    const seq = Array.from({ length: 9 }, () => b.next());
    expect(seq).toEqual(Array.from({ length: 9 }, (_, i) => a.uniformAt(start + i)));
    for (const u of seq) {
      expect(u >= 0 && u < 1).toBe(true);
      expect(Math.fround(u)).toBe(u); // the f32 the kernel reads is the value drawn
      expect(Number.isInteger(u * 2 ** 24)).toBe(true);
    }
  });

  it('pins the draws of seed 0 and 42 (a change here changes every seeded run)', () => {
    const draws = (seed: number) => Array.from({ length: 4 }, (_, i) => new SamplingRng(seed).uniformAt(i) * 2 ** 24);
    expect(draws(0)).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8].map((w) => w >>> 8));
    expect(new SamplingRng(42).uniformAt(5)).toBe((philox4x32([1, 0, 0, 0], [42, 0])[1] >>> 8) / 2 ** 24); // draw 5: block 1, word 1
    // Seed 2^40 + 3 is key [3, 256]; draw 2^40 is block 2^38 = counter [0, 64], word 0.
    expect(new SamplingRng(2n ** 40n + 3n).uniformAt(2 ** 40)).toBe((philox4x32([0, 64, 0, 0], [3, 256])[0] >>> 8) / 2 ** 24);
  });

  it('spreads draws evenly (chi-square over 32 bins, 64k draws) and seeds differ', () => {
    const rng = new SamplingRng(12345);
    const bins = new Array(32).fill(0);
    const n = 65536;
    for (let i = 0; i < n; i++) bins[Math.floor(rng.next() * 32)]++;
    const chi2 = bins.reduce((s, c) => s + (c - n / 32) ** 2 / (n / 32), 0);
    expect(chi2).toBeLessThan(70); // 31 degrees of freedom: p < 1e-4 above 70
    expect(new SamplingRng(1).uniformAt(0)).not.toBe(new SamplingRng(2).uniformAt(0));
  });

  it('rejects seeds outside [0, 2^64) and bad indices', () => {
    expect(() => seedKey(-1)).toThrow(/seed must be an integer in \[0, 2\^64\)/);
    expect(() => seedKey(1n << 64n)).toThrow(RangeError);
    expect(() => seedKey(0.5)).toThrow(RangeError);
    expect(() => new SamplingRng(1).uniformAt(-1)).toThrow(/draw index/);
  });
});

describe('samplingParams', () => {
  it('fills defaults (request, then generation_config, then 1 and 1) and draws a seed when none is given', () => {
    const p = samplingParams({ seed: 7 });
    expect(p).toEqual({ temperature: 1, topP: 1, seed: 7n, greedy: false });
    expect(samplingParams({ temperature: 0, seed: '18446744073709551615' })).toEqual({ temperature: 0, topP: 1, seed: 2n ** 64n - 1n, greedy: true });
    expect(samplingParams({ topP: '0.9' }, { temperature: 0.6, topP: 0.95 })).toMatchObject({ temperature: 0.6, topP: 0.9 });
    expect(samplingParams().seed).not.toBe(samplingParams().seed);
    expect(generationDefaults({ temperature: 0.6, top_p: 0.95, do_sample: true })).toEqual({ temperature: 0.6, topP: 0.95 });
    expect(generationDefaults({ temperature: 0.6, do_sample: false, top_p: 'x' })).toEqual({ temperature: 0 });
  });

  const bad: [Parameters<typeof samplingParams>[0], string, RegExp][] = [
    [{ temperature: -0.1 }, 'temperature', /must be ≥ 0 \(0 is greedy\), got -0.1/],
    [{ temperature: Number.NaN }, 'temperature', /finite number/],
    [{ temperature: 'hot' }, 'temperature', /finite number, got "hot"/],
    [{ temperature: '' }, 'temperature', /finite number/],
    [{ topP: 0 }, 'top_p', /must be in \(0, 1\] \(1 keeps every token\), got 0/],
    [{ topP: 1.01 }, 'top_p', /got 1.01/],
    [{ topP: Number.POSITIVE_INFINITY }, 'top_p', /finite number/],
    [{ seed: -1 }, 'seed', /integer in \[0, 2\^64\), got -1/],
    [{ seed: 1.5 }, 'seed', /got 1.5/],
    [{ seed: 2n ** 64n }, 'seed', /got 18446744073709551616n/],
    [{ seed: 'abc' }, 'seed', /got "abc"/],
  ];
  it.each(bad.map(([o, name, re]) => [JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)), o, name, re] as const))('%s: an error naming the option', (_, options, option, re) => {
    let error: unknown;
    try {
      samplingParams(options);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SamplingParamsError);
    expect((error as SamplingParamsError).option).toBe(option);
    expect((error as Error).message).toMatch(new RegExp(`^sampling option ${option}: `));
    expect((error as Error).message).toMatch(re);
  });
});

describe("the kernel's inputs", () => {
  it('one f32 per row; each row draws from its own seed, one draw per step', () => {
    const rows = [samplingRow(samplingParams({ temperature: 0.7, topP: 0.9, seed: 1 })), samplingRow(samplingParams({ temperature: 0, seed: 2 }))];
    const step0 = sampleInputs(rows);
    const step1 = sampleInputs(rows);
    expect([...step0.temperature]).toEqual([Math.fround(0.7), 0]);
    expect([...step0.topP]).toEqual([Math.fround(0.9), 1]);
    expect([...step0.uniform]).toEqual([new SamplingRng(1).uniformAt(0), new SamplingRng(2).uniformAt(0)]);
    expect([...step1.uniform]).toEqual([new SamplingRng(1).uniformAt(1), new SamplingRng(2).uniformAt(1)]);
  });

  it('draws fed to the reference pick each token at its probability (top_p renormalized)', () => {
    const p = [0.5, 0.3, 0.15, 0.05];
    const logits = p.map(Math.log);
    const rng = new SamplingRng(99);
    const n = 20000;
    const all = new Array(4).fill(0);
    const nucleus = new Array(4).fill(0);
    for (let i = 0; i < n; i++) {
      all[sampleRow(logits, 1, 1, rng.next())]++;
      nucleus[sampleRow(logits, 1, 0.75, rng.next())]++; // keeps {0, 1} (0.8 ≥ 0.75): 0.625, 0.375
    }
    const within = (count: number, q: number) => Math.abs(count - n * q) <= 4 * Math.sqrt(n * q * (1 - q)) + 1;
    p.forEach((q, i) => expect(within(all[i], q), `token ${i}: ${all[i]} of ${n}`).toBe(true));
    [0.625, 0.375, 0, 0].forEach((q, i) => expect(within(nucleus[i], q), `nucleus token ${i}: ${nucleus[i]}`).toBe(true));
  });
});
