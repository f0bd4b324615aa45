import { describe, expect, it } from 'vitest';
import { decodeBF16, encodeBF16 } from '../../compiler/checkpoint/bf16.ts';
import { bf16Round, bf16Rounded } from './bf16.ts';
import { Rng } from './prng.ts';

// The reference's rounding is written on its own; the compiler's codec (tested against torch's
// bit patterns in test/checkpoint) is the independent check here.
describe('bf16Round', () => {
  it('agrees with the compiler codec on random values over many binades', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 20_000; i++) {
      const x = (rng.next() - 0.5) * 2 ** Math.floor(rng.next() * 80 - 40);
      expect(bf16Round(x)).toBe(decodeBF16(encodeBF16(x)));
    }
  });

  it('rounds halfway cases to even, keeps bf16 values, and passes infinities and NaN through', () => {
    expect(bf16Round(1 + 2 ** -8)).toBe(1); // halfway between 1 and 1 + 2⁻⁷: even is 1
    expect(bf16Round(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6); // halfway, even is the upper
    expect(bf16Round(1 + 2 ** -8 + 2 ** -20)).toBe(1 + 2 ** -7); // just above halfway
    expect(bf16Round(-0.1)).toBe(decodeBF16(encodeBF16(-0.1)));
    expect(bf16Round(3.0e38 * 1.2)).toBe(Infinity); // past bf16's largest finite value
    expect(bf16Round(-Infinity)).toBe(-Infinity);
    expect(bf16Round(NaN)).toBeNaN();
    const values = Float64Array.from([0.5, -2, 1 + 2 ** -7, 2 ** -130]);
    expect(Array.from(bf16Rounded(values))).toEqual(Array.from(values, (v) => decodeBF16(encodeBF16(v))));
  });
});
