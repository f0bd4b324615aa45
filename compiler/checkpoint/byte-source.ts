import { open, type FileHandle } from 'node:fs/promises';
import { CheckpointError } from './checkpoint-error.ts';

/**
 * Random access to a file's bytes by position. Shards pass 4 GiB (Node 20's Buffer cap) and 2^32
 * offsets, so nothing reads a whole file: callers ask for ranges, positions are plain numbers
 * (exact up to 2^53).
 */
export interface ByteSource {
  /** Names the file in errors. */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes from `position`; the caller keeps the range inside [0, size]. */
  read(position: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export async function openFileSource(path: string): Promise<ByteSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw new CheckpointError({ file: path, problem: `cannot be opened (${(e as Error).message})`, expected: 'a readable file' });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new CheckpointError({ file: path, problem: 'is not a regular file', expected: 'a safetensors file' });
    return new FileSource(path, handle, stat.size);
  } catch (e) {
    await handle.close();
    throw e;
  }
}

class FileSource implements ByteSource {
  constructor(
    readonly name: string,
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  async read(position: number, length: number): Promise<Uint8Array> {
    // Its own ArrayBuffer at offset 0 (not a slice of Node's pool), so typed views of it are safe.
    const out = new Uint8Array(length);
    let done = 0;
    // A read may return fewer bytes than asked; keep going until the range is filled.
    while (done < length) {
      const { bytesRead } = await this.handle.read(out, done, length - done, position + done);
      if (bytesRead === 0) {
        throw new CheckpointError({
          file: this.name,
          problem: `ended at byte ${position + done} while reading bytes ${position}..${position + length}`,
          expected: `the file not to shrink while open (it was ${this.size} bytes)`,
        });
      }
      done += bytesRead;
    }
    return out;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** A source over bytes in memory (tests, small files). */
export function memorySource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.length,
    read: async (position, length) => {
      if (!(position >= 0 && length >= 0 && position + length <= bytes.length)) {
        throw new RangeError(`read of ${length} bytes at ${position} outside ${name} (${bytes.length} bytes)`);
      }
      return bytes.subarray(position, position + length);
    },
    close: async () => {},
  };
}
