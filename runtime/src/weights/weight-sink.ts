import type { ManifestWeight } from '../../../compiler/package/manifest.ts';

/**
 * Where loaded weights go. The executor implements it over addon buffers (cpu host buffers, or
 * GPU device buffers written through `GpuBuffer.write`); tests collect the bytes.
 *
 * For each weight the loader calls `begin`, then `write` with pieces that together cover the
 * weight's `bytes` exactly once, in any order, then `end`; weights come in manifest order, one at
 * a time. Bytes are the weight's kernel dtype, little-endian: bf16 bits, e4m3fn codes, float32.
 * A piece is read-only and valid only until `write` returns (or its promise settles): the loader
 * reuses that memory, and may hand out the same source bytes again for another part of the
 * weight, so a sink that keeps bytes copies them and never writes into a piece.
 */
export interface WeightSink {
  begin?(weight: ManifestWeight): void | Promise<void>;
  write(weightName: string, byteOffset: number, bytes: Uint8Array): void | Promise<void>;
  end?(weight: ManifestWeight): void | Promise<void>;
}
