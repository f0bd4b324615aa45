/**
 * FP8 e4m3fn (OCP; what DeepSeek-V3's weights are stored in): 1 sign, 4 exponent bits with bias 7,
 * 3 mantissa bits, subnormals, max ±448, 0x7F/0xFF NaN, no infinities.
 * And e4m3fnuz (AMD MI300): bias 8, max 240, 0x80 the only NaN, no −0.
 */

export const E4M3FN_MAX = 448;

function decodeFn(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const exp = (code >> 3) & 0xf;
  const man = code & 0x7;
  if (exp === 0xf && man === 0x7) return NaN;
  if (exp === 0) return sign * man * 2 ** -9; // subnormal: (man/8)·2^(1−7)
  return sign * (1 + man / 8) * 2 ** (exp - 7);
}

/** Value of every code, indexed by code. */
export const E4M3FN_VALUES: Float32Array = Float32Array.from({ length: 256 }, (_, c) => decodeFn(c));

export function decodeE4M3FN(code: number): number {
  return E4M3FN_VALUES[code & 0xff];
}

/** Decodes bytes to float32, optionally into `out`. */
export function decodeE4M3FNArray(bytes: Uint8Array, out = new Float32Array(bytes.length)): Float32Array {
  for (let i = 0; i < bytes.length; i++) out[i] = E4M3FN_VALUES[bytes[i]];
  return out;
}

// Midpoints between consecutive positive codes 0..0x7E (values increase with the code).
const MIDPOINTS: Float64Array = Float64Array.from({ length: 0x7e }, (_, c) => (E4M3FN_VALUES[c] + E4M3FN_VALUES[c + 1]) / 2);

/**
 * Nearest e4m3fn code, ties to even (even code = even mantissa); |x| ≥ 448 (and ±Infinity)
 * saturate to ±448; NaN stays NaN (0x7F); −0 keeps its sign.
 */
export function encodeE4M3FN(x: number): number {
  if (Number.isNaN(x)) return 0x7f;
  const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  const a = Math.abs(x);
  if (a >= E4M3FN_MAX) return sign | 0x7e;
  // Smallest code c with a ≤ midpoint(c, c+1): a lies in [mid(c−1), mid(c)].
  let lo = 0;
  let hi = 0x7e;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a <= MIDPOINTS[mid]) hi = mid;
    else lo = mid + 1;
  }
  let code = lo;
  // Exactly on a midpoint: round to the even code of the two.
  if (code < 0x7e && a === MIDPOINTS[code] && code & 1) code += 1;
  return sign | code;
}

/** fnuz value of a code: fn's exponent bias plus one, 0x80 NaN. */
export function decodeE4M3FNUZ(code: number): number {
  code &= 0xff;
  if (code === 0x80) return NaN;
  const sign = code & 0x80 ? -1 : 1;
  const exp = (code >> 3) & 0xf;
  const man = code & 0x7;
  if (exp === 0) return sign * man * 2 ** -10;
  return sign * (1 + man / 8) * 2 ** (exp - 8);
}

/**
 * Re-encodes an fn code for fnuz hardware. The same bits read as fnuz are worth half as much
 * (bias 8 vs 7), so the bits stay and the caller doubles each block's weight_scale_inv. Two
 * codes need care: 0x80 (−0 in fn) is fnuz's NaN and becomes +0; fn's NaNs become 0x80.
 */
export function e4m3fnToFnuz(code: number): number {
  code &= 0xff;
  if ((code & 0x7f) === 0x7f) return 0x80;
  if (code === 0x80) return 0x00;
  return code;
}

/** e4m3fnToFnuz over a whole tensor (new array); remember to double its scales. */
export function e4m3fnToFnuzBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = e4m3fnToFnuz(bytes[i]);
  return out;
}
