import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { e4m3Decode, e4m3Encode, e4m3Round } from './e4m3.ts';

const finiteCodes = Array.from({ length: 256 }, (_, c) => c).filter((c) => (c & 0x7f) !== 0x7f);
const finiteValues = finiteCodes.map(e4m3Decode);

describe('e4m3fn', () => {
  it('decodes normals, subnormals, the maximum and NaN', () => {
    expect(e4m3Decode(0x38)).toBe(1); // exponent 7 = bias
    expect(e4m3Decode(0x39)).toBe(1.125);
    expect(e4m3Decode(0x08)).toBe(2 ** -6); // smallest normal
    expect(e4m3Decode(0x01)).toBe(2 ** -9); // smallest subnormal
    expect(e4m3Decode(0x07)).toBe(7 * 2 ** -9);
    expect(e4m3Decode(0x7e)).toBe(448);
    expect(e4m3Decode(0xfe)).toBe(-448);
    expect(Object.is(e4m3Decode(0x80), -0)).toBe(true);
    expect(e4m3Decode(0x7f)).toBeNaN();
    expect(e4m3Decode(0xff)).toBeNaN();
  });

  it('encodes every finite value back to its own code', () => {
    for (const c of finiteCodes) expect(e4m3Encode(e4m3Decode(c))).toBe(c);
  });

  it('rounds ties to the even mantissa, across binades and among subnormals', () => {
    expect(e4m3Round(1.0625)).toBe(1); // between 1 (m 0) and 1.125 (m 1)
    expect(e4m3Round(1.1875)).toBe(1.25); // between m 1 and m 2
    expect(e4m3Round(1.9375)).toBe(2); // between 1.875 (m 7) and 2 (next binade, m 0)
    expect(e4m3Round(1.5 * 2 ** -9)).toBe(2 * 2 ** -9);
    expect(e4m3Round(0.5 * 2 ** -9)).toBe(0);
    expect(e4m3Round(3.3)).toBe(3.25);
  });

  it('saturates to ±448 instead of producing NaN', () => {
    expect(e4m3Round(460)).toBe(448);
    expect(e4m3Round(1e9)).toBe(448);
    expect(e4m3Round(-Infinity)).toBe(-448);
  });

  test.prop([fc.double({ min: -500, max: 500, noNaN: true })])('rounds to a nearest finite value', (x) => {
    const r = e4m3Round(x);
    const best = Math.min(...finiteValues.map((v) => Math.abs(v - Math.min(Math.max(x, -448), 448))));
    expect(Math.abs(r - Math.min(Math.max(x, -448), 448))).toBe(best);
  });
});
