import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { decodeBF16, decodeBF16Array, encodeBF16, encodeBF16Array } from '../../compiler/checkpoint/bf16.ts';

/** Neighbouring bf16 values around a float32, found by truncating its bits: the answer is one of the two. */
function neighbours(x: number): [number, number] {
  const f = new Float32Array([x]);
  const hi = new Uint32Array(f.buffer)[0] >>> 16;
  return [hi, (hi + 1) & 0xffff];
}

describe('bf16', () => {
  test.prop([fc.float({ noNaN: true, noDefaultInfinity: true })], { numRuns: 5000 })('rounds to the nearest bf16, ties to even', (x) => {
    const got = encodeBF16(x);
    const [a, b] = neighbours(x);
    const da = Math.abs(decodeBF16(a) - x);
    // Overflow rounds as if the exponent went on: the bf16 after the largest finite one is worth 2^128.
    const bv = Number.isFinite(decodeBF16(b)) ? decodeBF16(b) : Math.sign(decodeBF16(b)) * 2 ** 128;
    const db = Math.abs(bv - x);
    const want = da < db ? a : db < da ? b : (a & 1) === 0 ? a : b;
    expect(got).toBe(want);
  });

  it('handles ties, signs, infinities and NaN', () => {
    expect(encodeBF16(1 + 2 ** -8)).toBe(0x3f80); // tie between 1 and 1+2^-7: even mantissa (1)
    expect(encodeBF16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie between 1+2^-7 and 1+2^-6: even is the upper
    expect(encodeBF16(-2)).toBe(0xc000);
    expect(encodeBF16(Infinity)).toBe(0x7f80);
    expect(encodeBF16(-0)).toBe(0x8000);
    expect(decodeBF16(encodeBF16(NaN))).toBeNaN();
    expect(encodeBF16(3.4028234663852886e38)).toBe(0x7f80); // float32 max rounds up to +inf, as RNE must
  });

  test.prop([fc.float32Array({ maxLength: 300, noNaN: true })])('array forms agree with the scalar ones, little-endian', (values) => {
    const bytes = encodeBF16Array(values);
    expect(bytes.length).toBe(values.length * 2);
    values.forEach((v, i) => expect(bytes[2 * i] | (bytes[2 * i + 1] << 8)).toBe(encodeBF16(v)));
    const back = decodeBF16Array(bytes);
    values.forEach((v, i) => expect(Object.is(back[i], decodeBF16(encodeBF16(v)))).toBe(true));
  });
});
