import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  decodeE4M3FN,
  decodeE4M3FNArray,
  decodeE4M3FNUZ,
  e4m3fnToFnuz,
  e4m3fnToFnuzBytes,
  encodeE4M3FN,
} from '../../compiler/checkpoint/fp8.ts';

const CODES = Array.from({ length: 256 }, (_, c) => c);
const FINITE = CODES.filter((c) => (c & 0x7f) !== 0x7f);

/** OCP e4m3fn value built independently: the code's fields placed into float32 bits. */
function ocpE4M3FN(c: number): number {
  const sign = c >> 7;
  const exp = (c >> 3) & 0xf;
  const man = c & 0x7;
  if (exp === 0xf && man === 0x7) return NaN;
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  if (exp === 0 && man === 0) bits[0] = sign << 31;
  else if (exp === 0) {
    // Subnormal man·2^-9: renormalize so the leading 1 of man becomes the implicit bit.
    const p = 31 - Math.clz32(man);
    bits[0] = (sign << 31) | ((p - 9 + 127) << 23) | ((man - (1 << p)) << (23 - p));
  } else bits[0] = (sign << 31) | ((exp - 7 + 127) << 23) | (man << 20);
  return f[0];
}

/** The finite code nearest to x, ties to the even code, by brute force over all codes. */
function nearestCode(x: number): number {
  if (Math.abs(x) >= 448) return x < 0 ? 0xfe : 0x7e;
  let best = -1;
  for (const c of FINITE) {
    if ((c & 0x80) !== (x < 0 || Object.is(x, -0) ? 0x80 : 0)) continue;
    const d = Math.abs(decodeE4M3FN(c) - x);
    const bd = best < 0 ? Infinity : Math.abs(decodeE4M3FN(best) - x);
    if (d < bd || (d === bd && (c & 1) === 0)) best = c;
  }
  return best;
}

describe('e4m3fn decode', () => {
  it('matches the OCP definition for all 256 codes', () => {
    for (const c of CODES) {
      const want = ocpE4M3FN(c);
      if (Number.isNaN(want)) expect(decodeE4M3FN(c), `code ${c}`).toBeNaN();
      else expect(Object.is(decodeE4M3FN(c), want), `code 0x${c.toString(16)}: ${decodeE4M3FN(c)} vs ${want}`).toBe(true);
    }
  });

  it('has the known anchors', () => {
    expect(decodeE4M3FN(0x7e)).toBe(448);
    expect(decodeE4M3FN(0xfe)).toBe(-448);
    expect(decodeE4M3FN(0x08)).toBe(2 ** -6); // smallest normal
    expect(decodeE4M3FN(0x01)).toBe(2 ** -9); // smallest subnormal
    expect(decodeE4M3FN(0x38)).toBe(1);
    expect(Object.is(decodeE4M3FN(0x80), -0)).toBe(true);
    expect(decodeE4M3FN(0x7f)).toBeNaN();
    expect(decodeE4M3FN(0xff)).toBeNaN();
    // No infinities anywhere in the table.
    expect(CODES.map(decodeE4M3FN).some((v) => v === Infinity || v === -Infinity)).toBe(false);
  });

  it('decodes arrays like single codes', () => {
    const bytes = Uint8Array.from(CODES);
    const out = decodeE4M3FNArray(bytes);
    CODES.forEach((c) => expect(Object.is(out[c], decodeE4M3FN(c)) || Number.isNaN(out[c])).toBe(true));
  });
});

describe('e4m3fn encode', () => {
  it('round-trips every finite code, -0 included', () => {
    for (const c of FINITE) expect(encodeE4M3FN(decodeE4M3FN(c)), `code 0x${c.toString(16)}`).toBe(c);
  });

  it('rounds ties to the even code', () => {
    expect(encodeE4M3FN(1.0625)).toBe(0x38); // between 1 (0x38) and 1.125 (0x39)
    expect(encodeE4M3FN(1.1875)).toBe(0x3a); // between 1.125 (0x39) and 1.25 (0x3a)
    expect(encodeE4M3FN(2 ** -10)).toBe(0x00); // between 0 and the smallest subnormal
    expect(encodeE4M3FN(1.5 * 2 ** -9)).toBe(0x02);
    expect(encodeE4M3FN(-1.0625)).toBe(0xb8);
    // Between 240 (0x77) and 256 (0x78): 0x78 is even and starts the next binade.
    expect(encodeE4M3FN(248)).toBe(0x78);
  });

  it('saturates at ±448 and keeps NaN', () => {
    // 464 is the midpoint between 448 and the NaN code's place: above it plain rounding would give 0x7F.
    for (const x of [448, 449, 464, 464.5, 470, 479.99, 480, 500, 1e9, Infinity]) {
      expect(encodeE4M3FN(x)).toBe(0x7e);
      expect(encodeE4M3FN(-x)).toBe(0xfe);
    }
    expect(decodeE4M3FN(encodeE4M3FN(NaN))).toBeNaN();
  });

  test.prop([fc.double({ min: -600, max: 600, noNaN: true })], { numRuns: 3000 })('picks the nearest code', (x) => {
    expect(encodeE4M3FN(x)).toBe(nearestCode(x));
  });

  test.prop([fc.double({ min: 400, max: 520, noNaN: true })], { numRuns: 1000 })('picks the nearest code near the top, saturating', (x) => {
    expect(encodeE4M3FN(x)).toBe(nearestCode(x));
  });

  test.prop([fc.double({ min: -0.02, max: 0.02, noNaN: true })], { numRuns: 2000 })('picks the nearest code among subnormals', (x) => {
    expect(encodeE4M3FN(x)).toBe(nearestCode(x));
  });
});

describe('e4m3fn → e4m3fnuz re-encoding', () => {
  it('decodes fnuz anchors (bias 8, max 240, 0x80 the only NaN)', () => {
    expect(decodeE4M3FNUZ(0x7f)).toBe(240);
    expect(decodeE4M3FNUZ(0xff)).toBe(-240);
    expect(decodeE4M3FNUZ(0x40)).toBe(1);
    expect(decodeE4M3FNUZ(0x01)).toBe(2 ** -10);
    expect(decodeE4M3FNUZ(0x80)).toBeNaN();
    expect(CODES.filter((c) => Number.isNaN(decodeE4M3FNUZ(c)))).toEqual([0x80]);
  });

  it('keeps every value once the scale is doubled; -0 becomes 0 and NaN stays NaN', () => {
    for (const c of CODES) {
      const fn = decodeE4M3FN(c);
      const z = e4m3fnToFnuz(c);
      if (Number.isNaN(fn)) {
        expect(z).toBe(0x80);
        continue;
      }
      const back = decodeE4M3FNUZ(z) * 2;
      expect(Object.is(back, fn === 0 ? 0 : fn), `fn code 0x${c.toString(16)} → fnuz 0x${z.toString(16)}`).toBe(true);
    }
  });

  test.prop([fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.float({ min: Math.fround(1e-6), max: 1e3, noNaN: true })])(
    'a tensor dequantizes to the same values with doubled scale',
    (bytes, scale) => {
      const z = e4m3fnToFnuzBytes(bytes);
      bytes.forEach((c, i) => {
        const fn = decodeE4M3FN(c) * scale;
        const nuz = decodeE4M3FNUZ(z[i]) * (2 * scale);
        if (Number.isNaN(fn)) expect(nuz).toBeNaN();
        else expect(nuz).toBe(fn === 0 ? 0 : fn);
      });
    },
  );
});
