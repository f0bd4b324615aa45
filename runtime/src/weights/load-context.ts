import type { ManifestWeight } from '../../../compiler/package/manifest.ts';
import type { WeightCheckpoint } from './checkpoint-reader.ts';
import { WeightLoadError } from './weight-load-error.ts';
import type { WeightSink } from './weight-sink.ts';

/**
 * What streaming one weight needs: ranged reads that name the tensor and shard when they fail,
 * the reusable staging buffers, and the sink with progress accounting.
 */
export class LoadContext {
  private outBuffer: ArrayBuffer;
  private f32Buffer: Float32Array | null = null;
  private done = 0;

  constructor(
    readonly checkpoint: WeightCheckpoint,
    private readonly files: ReadonlyMap<string, string>,
    private readonly sink: WeightSink,
    readonly chunkBytes: number,
    private readonly totalBytes: number,
    private readonly onProgress: ((doneBytes: number, totalBytes: number, weightName: string) => void) | undefined,
  ) {
    this.outBuffer = new ArrayBuffer(chunkBytes);
  }

  get doneBytes(): number {
    return this.done;
  }

  /** `length` bytes from `start` into a source tensor (the one chunk of it held at a time). */
  async read(tensor: string, start: number, length: number): Promise<Uint8Array> {
    try {
      return await this.checkpoint.readRange(tensor, start, length);
    } catch (e) {
      throw new WeightLoadError(`reading weights from ${this.checkpoint.dir} failed`, [
        { tensor, file: this.files.get(tensor) ?? null, problem: `could not be read at bytes ${start}..${start + length} (${(e as Error).message})` },
      ], { cause: e });
    }
  }

  /** The output staging piece: `bytes` long, reused for every piece (grows past chunkBytes only when one row needs it). */
  out(bytes: number): Uint8Array {
    if (bytes > this.outBuffer.byteLength) this.outBuffer = new ArrayBuffer(bytes);
    return new Uint8Array(this.outBuffer, 0, bytes);
  }

  /** Float32 staging for decoded source values (kv-b-split), reused likewise. */
  decoded(count: number): Float32Array {
    if (!this.f32Buffer || this.f32Buffer.length < count) this.f32Buffer = new Float32Array(Math.max(count, this.chunkBytes >> 2));
    return this.f32Buffer.subarray(0, count);
  }

  async write(weight: ManifestWeight, byteOffset: number, bytes: Uint8Array): Promise<void> {
    if (byteOffset < 0 || byteOffset + bytes.length > weight.bytes) {
      throw new Error(`loader bug: piece ${byteOffset}+${bytes.length} outside weight ${weight.name} (${weight.bytes} bytes)`);
    }
    await this.sink.write(weight.name, byteOffset, bytes);
    this.done += bytes.length;
    this.onProgress?.(this.done, this.totalBytes, weight.name);
  }
}
