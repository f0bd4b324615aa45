import { encodeBF16 } from '../../../compiler/checkpoint/bf16.ts';
import { SAFETENSORS_DTYPE_BYTES, type SafetensorsDType } from '../../../compiler/checkpoint/dtypes.ts';
import { E4M3FN_VALUES } from '../../../compiler/checkpoint/fp8.ts';
import { assertLittleEndianHost } from '../../../compiler/checkpoint/host-endian.ts';
import { DTYPE_BYTES, type DType } from '../../../compiler/ir/types.ts';

/**
 * Element conversion from a checkpoint tensor's stored dtype to a weight's kernel dtype, on bytes.
 * Each result is the element's value rounded once to the kernel dtype, as the interpreter's
 * float64 value rounded to that dtype would be: a copy when the formats agree, exact widenings
 * (F8_E4M3 → bf16/f32, BF16 → f32), and F32 → bf16 rounded to nearest even. Narrowing into
 * fp8e4m3 would need new block scales, so it is refused, as is anything else.
 */
export interface Conversion {
  readonly srcBytes: number;
  readonly dstBytes: number;
  /** Converts `count` elements; null when the bytes are used as stored. */
  readonly convert: ((src: Uint8Array, dst: Uint8Array, count: number) => void) | null;
}

assertLittleEndianHost();

/** The checkpoint dtype whose bytes are a kernel dtype's bytes. */
const SAME: Partial<Record<SafetensorsDType, DType>> = { F8_E4M3: 'fp8e4m3', BF16: 'bf16', F16: 'f16', F32: 'f32', I32: 'i32', I64: 'i64' };

/** bf16 bits of every e4m3fn code (exact: 4 significant bits, exponents within bf16's). */
const E4M3FN_BF16 = Uint16Array.from(E4M3FN_VALUES, (v) => encodeBF16(v));

const CONVERTERS: Partial<Record<string, (src: Uint8Array, dst: Uint8Array, count: number) => void>> = {
  'F8_E4M3>bf16': (src, dst, n) => {
    const out = outU16(dst);
    for (let i = 0; i < n; i++) out[i] = E4M3FN_BF16[src[i]];
  },
  'F8_E4M3>f32': (src, dst, n) => {
    const out = outF32(dst);
    for (let i = 0; i < n; i++) out[i] = E4M3FN_VALUES[src[i]];
  },
  'BF16>f32': (src, dst, n) => {
    const inp = u16(src);
    const out = outU32(dst);
    for (let i = 0; i < n; i++) out[i] = inp[i] << 16;
  },
  'F32>bf16': (src, dst, n) => {
    const inp = f32(src);
    const out = outU16(dst);
    for (let i = 0; i < n; i++) out[i] = encodeBF16(inp[i]); // float32 in, so rounded once
  },
};

/** How to turn `from` elements into `to` elements, or why that cannot be done. */
export function conversion(from: SafetensorsDType, to: DType): Conversion | string {
  const srcBytes = SAFETENSORS_DTYPE_BYTES[from];
  const dstBytes = DTYPE_BYTES[to];
  if (SAME[from] === to) return { srcBytes, dstBytes, convert: null };
  const convert = CONVERTERS[`${from}>${to}`];
  if (convert) return { srcBytes, dstBytes, convert };
  if (to === 'fp8e4m3') return `is ${from} and cannot become an fp8e4m3 weight without new block scales`;
  return `is ${from}; the loader converts F8_E4M3 to bf16/f32, BF16 to f32 and F32 to bf16, not ${from} to ${to}`;
}

// Typed views of byte ranges. Sources may sit anywhere (a misaligned one is copied); outputs are
// the loader's own staging, which starts at offset 0 of its buffer.
function u16(b: Uint8Array): Uint16Array {
  return b.byteOffset % 2 === 0 ? new Uint16Array(b.buffer, b.byteOffset, b.length >> 1) : new Uint16Array(b.slice().buffer);
}
function f32(b: Uint8Array): Float32Array {
  return b.byteOffset % 4 === 0 ? new Float32Array(b.buffer, b.byteOffset, b.length >> 2) : new Float32Array(b.slice().buffer);
}
function outU16(b: Uint8Array): Uint16Array {
  if (b.byteOffset % 2 !== 0) throw new RangeError('conversion output must be 2-byte aligned');
  return new Uint16Array(b.buffer, b.byteOffset, b.length >> 1);
}
function outU32(b: Uint8Array): Uint32Array {
  if (b.byteOffset % 4 !== 0) throw new RangeError('conversion output must be 4-byte aligned');
  return new Uint32Array(b.buffer, b.byteOffset, b.length >> 2);
}
function outF32(b: Uint8Array): Float32Array {
  if (b.byteOffset % 4 !== 0) throw new RangeError('conversion output must be 4-byte aligned');
  return new Float32Array(b.buffer, b.byteOffset, b.length >> 2);
}
