/**
 * FP8 e4m3fn as DeepSeek-V3 stores it: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no
 * infinities, 0x7F/0xFF are NaN, the largest finite value is 448, the smallest subnormal 2^-9.
 */
export const E4M3_MAX = 448;

function decodeBits(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const exp = (code >> 3) & 0xf;
  const mant = code & 0x7;
  if (exp === 0xf && mant === 0x7) return NaN;
  if (exp === 0) return sign * mant * 2 ** -9; // subnormal: 2^-6 · m/8
  return sign * (1 + mant / 8) * 2 ** (exp - 7);
}

// Decoding runs per weight when generating checkpoints, so it is a table lookup.
const DECODED = Float64Array.from({ length: 256 }, (_, c) => decodeBits(c));

export function e4m3Decode(code: number): number {
  return DECODED[code & 0xff];
}

/** Nearest code to x, ties to even mantissa, saturating at ±448 (never producing NaN from a number). */
export function e4m3Encode(x: number): number {
  if (Number.isNaN(x)) return 0x7f;
  const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  const a = Math.abs(x);
  if (a >= E4M3_MAX) return sign | 0x7e;
  if (a < 2 ** -6) return sign | roundHalfEven(a * 2 ** 9); // 0..8; 8 is exactly the smallest normal's code
  const e = binade(a);
  // a / 2^(e-3) lies in [8, 16): the implicit 1 plus 3 mantissa bits; a carry to 16 moves up a binade.
  return sign | (((e + 7) << 3) + roundHalfEven(a * POW2[3 - e + 8]) - 8);
}

export function e4m3Round(x: number): number {
  return e4m3Decode(e4m3Encode(x));
}

// 2^j for j in [-8, 16]: the multipliers a · 2^(3-e) for the binades e in [-6, 8].
const POW2 = Float64Array.from({ length: 25 }, (_, j) => 2 ** (j - 8));

const f64 = new Float64Array(1);
const words = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // the word holding the exponent

/** floor(log2 a) for a normal float64 a > 0, read from its exponent bits (exact, unlike Math.log2). */
function binade(a: number): number {
  f64[0] = a;
  return ((words[HI] >>> 20) & 0x7ff) - 1023;
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
