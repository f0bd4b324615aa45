import type { FileHandle } from 'node:fs/promises';
import { tensorByteSize, type SafetensorsDType } from './dtypes.ts';

export interface TensorSpec {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
}

export interface EncodedHeader {
  /** 8-byte little-endian length + the JSON header, padded with spaces to a multiple of 8 (as the reference writer does). */
  readonly prefix: Uint8Array;
  /** [begin, end) of each spec's data, relative to the data section. */
  readonly offsets: readonly (readonly [number, number])[];
  readonly dataBytes: number;
}

/** The header for `specs` laid out back to back in their order. */
export function encodeHeader(specs: readonly TensorSpec[], metadata?: Readonly<Record<string, string>>): EncodedHeader {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const offsets: [number, number][] = [];
  let at = 0;
  for (const s of specs) {
    if (s.name === '__metadata__' || Object.prototype.hasOwnProperty.call(header, s.name)) {
      throw new Error(`encodeHeader: tensor name ${JSON.stringify(s.name)} is reserved or repeated`);
    }
    const bytes = tensorByteSize(s.dtype, s.shape);
    if (bytes > BigInt(Number.MAX_SAFE_INTEGER - at)) throw new Error(`encodeHeader: ${s.name} puts the data past 2^53 bytes`);
    const end = at + Number(bytes);
    header[s.name] = { dtype: s.dtype, shape: s.shape, data_offsets: [at, end] };
    offsets.push([at, end]);
    at = end;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const prefix = Buffer.alloc(8 + padded, 0x20);
  prefix.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(prefix, 8);
  return { prefix, offsets, dataBytes: at };
}

/** A whole safetensors file in memory (tests and small files). */
export function serializeSafetensors(
  tensors: readonly (TensorSpec & { readonly data: Uint8Array })[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const { prefix, offsets, dataBytes } = encodeHeader(tensors, metadata);
  const out = new Uint8Array(prefix.length + dataBytes);
  out.set(prefix, 0);
  tensors.forEach((t, i) => {
    checkLength(t, t.data, offsets[i]);
    out.set(t.data, prefix.length + offsets[i][0]);
  });
  return out;
}

/**
 * Writes a safetensors file through `handle`: the header, then each tensor's bytes as `produce`
 * returns them, one tensor in memory at a time. Positions are plain numbers (files pass 4 GiB).
 */
export async function writeSafetensors(
  handle: FileHandle,
  specs: readonly TensorSpec[],
  produce: (spec: TensorSpec) => Uint8Array | Promise<Uint8Array>,
  opts: { metadata?: Readonly<Record<string, string>>; onProgress?: (done: number, total: number) => void } = {},
): Promise<void> {
  const { prefix, offsets, dataBytes } = encodeHeader(specs, opts.metadata);
  await writeAll(handle, prefix, 0);
  for (let i = 0; i < specs.length; i++) {
    const data = await produce(specs[i]);
    checkLength(specs[i], data, offsets[i]);
    await writeAll(handle, data, prefix.length + offsets[i][0]);
    opts.onProgress?.(offsets[i][1], dataBytes);
  }
}

async function writeAll(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

function checkLength(spec: TensorSpec, data: Uint8Array, [begin, end]: readonly [number, number]): void {
  if (data.length !== end - begin) {
    throw new Error(`writeSafetensors: ${spec.name} got ${data.length} bytes, expected ${end - begin} (${spec.dtype} [${spec.shape.join(', ')}])`);
  }
}
