/**
 * FP8 e4m3fn (OCP; what DeepSeek-V3's weights are stored in): 1 sign, 4 exponent bits with bias 7,
 * 3 mantissa bits, subnormals, max ±448, 0x7F/0xFF NaN, no infinities.
 * And e4m3fnuz (AMD MI300): bias 8, max 240, 0x80 the only NaN, no −0.
 */

import { assertLittleEndianHost } from './host-endian.ts';

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

assertLittleEndianHost();
const f64 = new Float64Array(1);
const SPACING_INV = Float64Array.from({ length: 15 }, (_, i) => 2 ** (3 - (i - 6))); // 2^(3−e), e in [−6, 8]
const f64Hi = new Uint32Array(f64.buffer, 4, 1); // sign, exponent and top mantissa bits (little-endian host)

/**
 * Nearest e4m3fn code, ties to even (even code = even mantissa); |x| ≥ 448 (and ±Infinity)
 * saturate to ±448; NaN stays NaN (0x7F); −0 keeps its sign. Rounds the double directly (no
 * float32 step, which could round twice).
 */
export function encodeE4M3FN(x: number): number {
  if (Number.isNaN(x)) return 0x7f;
  const sign = x < 0 || (x === 0 && 1 / x < 0) ? 0x80 : 0;
  const a = Math.abs(x);
  if (a >= E4M3FN_MAX) return sign | 0x7e;
  f64[0] = a;
  // Binade of a (subnormal doubles read as far below −6, which is all that matters here).
  const e = Math.max(-6, ((f64Hi[0] >>> 20) & 0x7ff) - 1023);
  // a in units of the code spacing 2^(e−3): exact, a power-of-two scaling.
  const q = a * SPACING_INV[e + 6];
  let n = Math.floor(q);
  const rest = q - n;
  if (rest > 0.5 || (rest === 0.5 && n & 1)) n += 1;
  // Normals: n in [8, 16] (16 carries into the next binade); below 2^−6, n in [0, 8] is the code itself.
  return sign | (a < 2 ** -6 ? n : ((e + 7) << 3) + n - 8);
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
