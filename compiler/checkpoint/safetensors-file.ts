import { openFileSource, type ByteSource } from './byte-source.ts';
import { CheckpointError } from './checkpoint-error.ts';
import { MAX_HEADER_BYTES, parseHeader, type ParsedHeader, type TensorInfo } from './safetensors-header.ts';

/**
 * Reads the 8-byte length and the header of a safetensors source and validates them; every
 * problem is returned, none thrown. The data section is never read here.
 */
export async function readHeader(source: ByteSource): Promise<ParsedHeader> {
  const fail = (problem: string, expected: string): ParsedHeader => ({
    declared: [],
    tensors: [],
    metadata: {},
    problems: [new CheckpointError({ file: source.name, problem, expected })],
  });
  if (source.size < 8) return fail(`is ${source.size} bytes long`, 'at least 8 bytes (the header length)');
  const prefix = await source.read(0, 8);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) return fail(`header length is ${n} bytes`, `at most ${MAX_HEADER_BYTES} bytes`);
  const headerLength = Number(n);
  if (8 + headerLength > source.size) {
    return fail(`header length ${headerLength} runs past the end of the file (${source.size} bytes)`, `at most ${source.size - 8}`);
  }
  return parseHeader(source.name, await source.read(8, headerLength), source.size);
}

/**
 * readTensor's limit: Node 20 caps a Buffer at 4 GiB. DeepSeek-V3's largest tensor (the
 * embedding) is 1.85 GB; anything bigger is read with readRange or chunks.
 */
export const MAX_WHOLE_TENSOR_BYTES = 2 ** 32 - 1;

/** One validated safetensors file, open for reads by tensor name and byte range. */
export class SafetensorsFile {
  private readonly byName: ReadonlyMap<string, TensorInfo>;

  readonly tensors: readonly TensorInfo[];
  readonly metadata: Readonly<Record<string, string>>;

  /** Wraps a source whose header `readHeader` found valid; `open` is the usual way in. */
  constructor(
    private readonly source: ByteSource,
    header: ParsedHeader,
  ) {
    if (header.problems.length > 0) throw header.problems[0];
    this.tensors = header.tensors;
    this.metadata = header.metadata;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /** Opens and validates; throws the first CheckpointError if the file is not valid. Takes ownership of `source`. */
  static async open(source: ByteSource): Promise<SafetensorsFile> {
    let header: ParsedHeader;
    try {
      header = await readHeader(source);
    } catch (e) {
      await source.close();
      throw e;
    }
    if (header.problems.length > 0) {
      await source.close();
      throw header.problems[0];
    }
    return new SafetensorsFile(source, header);
  }

  static async openPath(path: string): Promise<SafetensorsFile> {
    return SafetensorsFile.open(await openFileSource(path));
  }

  get file(): string {
    return this.source.name;
  }

  get size(): number {
    return this.source.size;
  }

  tensor(name: string): TensorInfo | undefined {
    return this.byName.get(name);
  }

  /** `length` bytes starting `start` bytes into the tensor's data; the range must lie inside the tensor. */
  async readRange(name: string, start: number, length: number): Promise<Uint8Array> {
    const t = this.require(name);
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(length) && start >= 0 && length >= 0 && start + length <= t.byteSize)) {
      throw new CheckpointError({
        file: this.file, tensor: name,
        problem: `byte range ${start}+${length} requested`,
        expected: `a range inside the tensor's ${t.byteSize} bytes`,
      });
    }
    return this.source.read(t.position + start, length);
  }

  /** The whole tensor, up to MAX_WHOLE_TENSOR_BYTES; bigger ones are read in ranges. */
  async readTensor(name: string): Promise<Uint8Array> {
    const t = this.require(name);
    if (t.byteSize > MAX_WHOLE_TENSOR_BYTES) {
      throw new CheckpointError({ file: this.file, tensor: name, problem: `is ${t.byteSize} bytes, over one Buffer`, expected: 'readRange in chunks' });
    }
    return this.readRange(name, 0, t.byteSize);
  }

  /** The tensor's bytes in consecutive chunks of at most `chunkBytes` (for uploads that stream). */
  async *chunks(name: string, chunkBytes = 64 << 20): AsyncGenerator<Uint8Array> {
    const t = this.require(name);
    for (let at = 0; at < t.byteSize; at += chunkBytes) yield await this.readRange(name, at, Math.min(chunkBytes, t.byteSize - at));
  }

  close(): Promise<void> {
    return this.source.close();
  }

  private require(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new CheckpointError({ file: this.file, tensor: name, problem: 'is not in this file', expected: `one of its ${this.tensors.length} tensors` });
    return t;
  }
}
