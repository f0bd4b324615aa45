/**
 * bfloat16 <-> float32. Inputs are float32 (numbers are rounded to float32 first, as a torch
 * fp32 tensor would be), then rounded to nearest even on the 16 dropped bits.
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
