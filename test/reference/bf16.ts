/**
 * Rounding to bfloat16 for the reference's `activations: 'bf16'` mode. The kernels compute in
 * float32 and store bf16, so a value is rounded to float32 first, then to nearest even on the
 * 16 bits bf16 drops. Written here from the format, not taken from the compiler's codecs.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function bf16Round(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if (!Number.isFinite(f32[0])) return f32[0];
  const lsb = (bits >>> 16) & 1;
  u32[0] = ((bits + 0x7fff + lsb) >>> 16) << 16;
  return f32[0];
}

/** A rounded copy of `v`. */
export function bf16Rounded(v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = bf16Round(v[i]);
  return out;
}
