import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../../compiler/checkpoint/safetensors-file.ts';
import { encodeHeader } from '../../compiler/checkpoint/safetensors-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'dsv3c-sparse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a shard larger than 4 GiB', () => {
  it('reads a tensor placed past the 4 GiB mark of a sparse file', async () => {
    // A 4.25 GiB U8 "padding" tensor, then 64 F32 values: their offsets pass 2^32.
    const pad = 2 ** 32 + 2 ** 28;
    const { prefix, offsets, dataBytes } = encodeHeader([
      { name: 'padding', dtype: 'U8', shape: [pad] },
      { name: 'tail', dtype: 'F32', shape: [8, 8] },
    ]);
    const values = Float32Array.from({ length: 64 }, () => Math.fround(Math.random() * 2 - 1));
    const file = join(dir, 'big.safetensors');
    const fd = openSync(file, 'w');
    try {
      // Only the header and the last 256 bytes are written: the rest stays a hole on disk.
      ftruncateSync(fd, prefix.length + dataBytes);
      writeSync(fd, prefix, 0, prefix.length, 0);
      writeSync(fd, new Uint8Array(values.buffer), 0, 256, prefix.length + offsets[1][0]);
    } finally {
      closeSync(fd);
    }
    expect(statSync(file).size).toBeGreaterThan(2 ** 32);
    expect(statSync(file).blocks * 512).toBeLessThan(2 ** 24); // still sparse

    const st = await SafetensorsFile.openPath(file);
    try {
      const tail = st.tensor('tail')!;
      expect(tail.position).toBeGreaterThan(2 ** 32);
      const back = new Float32Array((await st.readTensor('tail')).buffer);
      expect([...back]).toEqual([...values]);
      // A range of the padding tensor straddling 2^32 reads as the hole's zeros, and ends where it should.
      const around = await st.readRange('padding', 2 ** 32 - 8, 16);
      expect([...around]).toEqual(new Array(16).fill(0));
      // Reading the padding whole would pass a Buffer's 4 GiB: refused with our error, not a crash.
      await expect(st.readTensor('padding')).rejects.toThrow(/readRange in chunks/);
    } finally {
      await st.close();
    }
  });
});
