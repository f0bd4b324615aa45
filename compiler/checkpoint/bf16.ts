/**
 * bfloat16 codecs. encodeBF16 takes float32 inputs (numbers are rounded to float32 first, as a
 * torch fp32 tensor would be), then rounds to nearest even on the 16 dropped bits;
 * bf16BitsOfFloat64 rounds a float64 once (the loader's dequantized products).
 */
import { assertLittleEndianHost } from './host-endian.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bf16 bits of a float32 value, round-to-nearest-even; NaN becomes a quiet NaN of the same sign. */
export function encodeBF16(x: number): number {
  f32[0] = x;
  return roundBits(u32[0]);
}

export function decodeBF16(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

function roundBits(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) & 0x8000) | 0x7fc0;
  // Adding 0x7FFF plus the kept LSB rounds half to even; a carry into the exponent is correct rounding.
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Little-endian bf16 bytes of a float32 array (safetensors byte order). */
export function encodeBF16Array(values: Float32Array): Uint8Array {
  assertLittleEndianHost();
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = roundBits(bits[i]);
  return new Uint8Array(out.buffer);
}

/** Float32 values of little-endian bf16 bytes. */
export function decodeBF16Array(bytes: Uint8Array): Float32Array {
  assertLittleEndianHost();
  const n = bytes.length >> 1;
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) bits[i] = (bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16;
  return out;
}

// The float64 views below read words by position: a little-endian host only.
assertLittleEndianHost();
const f64 = new Float64Array(1);
const f64Lo = new Uint32Array(f64.buffer, 0, 1); // low 32 mantissa bits (little-endian host)
const f64Hi = new Uint32Array(f64.buffer, 4, 1); // sign, 11 exponent bits, top 20 mantissa bits

/**
 * The bf16 bits of a float64, rounded once to nearest, ties to even. encodeBF16 goes through float32 first, which rounds twice: a product such as fp8 × f32 scale
 * (28 significant bits) just above a bf16 midpoint can land exactly on it in float32 and then tie
 * down. Overflow gives ±Infinity, NaN a quiet NaN of the same sign, −0 stays −0.
 */
export function bf16BitsOfFloat64(x: number): number {
  f64[0] = x;
  const hi = f64Hi[0];
  const sign = (hi >>> 16) & 0x8000;
  const exp = (hi >>> 20) & 0x7ff;
  // bf16 normals (2^−126 ≤ |x| < 2^128): keep the top 7 mantissa bits, round on the 45 dropped ones.
  // A carry out of the mantissa bumps the exponent, and out of 2^127's binade gives 0x7f80, +∞.
  if (exp >= 1023 - 126 && exp <= 1023 + 127) {
    let bits = ((exp - 896) << 7) | ((hi >>> 13) & 0x7f);
    if (hi & 0x1000 && (hi & 0xfff || f64Lo[0] || bits & 1)) bits++;
    return sign | bits;
  }
  // Zeros, subnormals, overflow, infinities, NaN.
  if (Number.isNaN(x)) return sign | 0x7fc0;
  const a = Math.abs(x);
  if (a === 0) return sign;
  if (a === Infinity) return sign | 0x7f80;
  // bf16 keeps 8 significant bits: its spacing in a's binade is 2^(e−7), 2^−133 below 2^−126 (subnormals).
  const e = Math.max(-126, ((f64Hi[0] >>> 20) & 0x7ff) - 1023);
  const spacing = 2 ** (e - 7);
  const q = a / spacing; // exact: a power-of-two scaling
  let n = Math.floor(q);
  const rest = q - n;
  if (rest > 0.5 || (rest === 0.5 && n & 1)) n += 1;
  const rounded = n * spacing; // a bf16 value (n = 256 carries into the next binade), or 2^128
  if (rounded >= 2 ** 128) return sign | 0x7f80;
  f32[0] = rounded; // exact: every bf16 value is a float32
  return sign | (u32[0] >>> 16);
}
