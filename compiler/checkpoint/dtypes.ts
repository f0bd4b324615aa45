/** The safetensors dtypes we accept (the format's standard set) and their element sizes in bytes. */
export const SAFETENSORS_DTYPE_BYTES = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  I16: 2,
  U16: 2,
  I32: 4,
  U32: 4,
  I64: 8,
  U64: 8,
  F16: 2,
  BF16: 2,
  F32: 4,
  F64: 8,
  F8_E4M3: 1,
  F8_E5M2: 1,
} as const);

export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPE_BYTES;

export function isSafetensorsDType(s: unknown): s is SafetensorsDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPE_BYTES, s);
}

/** Bytes of a tensor, exact for any shape (BigInt: a product of u64 dims can pass 2^53). */
export function tensorByteSize(dtype: SafetensorsDType, shape: readonly number[]): bigint {
  let n = BigInt(SAFETENSORS_DTYPE_BYTES[dtype]);
  for (const d of shape) n *= BigInt(d);
  return n;
}
