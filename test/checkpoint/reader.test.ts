import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memorySource } from '../../compiler/checkpoint/byte-source.ts';
import { CheckpointError } from '../../compiler/checkpoint/checkpoint-error.ts';
import { parseIndex, unsafeShardName } from '../../compiler/checkpoint/checkpoint-index.ts';
import { openCheckpoint, scanCheckpoint } from '../../compiler/checkpoint/checkpoint.ts';
import { findDuplicateKey } from '../../compiler/checkpoint/json-duplicates.ts';
import { SafetensorsFile } from '../../compiler/checkpoint/safetensors-file.ts';
import { serializeSafetensors } from '../../compiler/checkpoint/safetensors-writer.ts';
import { makeTiny, tempFolder, TINY_CONFIGS } from './helpers.ts';

/** A safetensors file from a header given as text and `dataBytes` bytes of data (0, 1, 2, ...). */
function rawFile(header: string, dataBytes: number): Uint8Array {
  const json = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(BigInt(json.length));
  json.copy(out, 8);
  for (let i = 0; i < dataBytes; i++) out[8 + json.length + i] = i & 0xff;
  return out;
}

async function openError(bytes: Uint8Array): Promise<CheckpointError> {
  try {
    await SafetensorsFile.open(memorySource('x.safetensors', bytes));
  } catch (e) {
    if (e instanceof CheckpointError) return e;
    throw e;
  }
  throw new Error('expected a CheckpointError');
}

describe('findDuplicateKey', () => {
  it('finds repeats at any depth, decoding escapes, and ignores keys of different objects', () => {
    expect(findDuplicateKey('{"a":1,"b":{"c":2,"c":3}}')).toEqual({ key: 'c', path: ['b'] });
    expect(findDuplicateKey('{"a":1,"\\u0061":2}')).toEqual({ key: 'a', path: [] });
    expect(findDuplicateKey('{"x":[{"k":1},{"k":2}],"y":"{\\"x\\":1}"}')).toBeNull();
    expect(findDuplicateKey('{"s":"a\\"b","t":{"s":1},"s":0}')).toEqual({ key: 's', path: [] });
  });

  test.prop([fc.json()])('finds nothing in JSON.stringify output, which never repeats a key', (j) => {
    expect(findDuplicateKey(JSON.stringify(JSON.parse(j)))).toBeNull();
  });
});

describe('safetensors header validation', () => {
  const ok = serializeSafetensors(
    [
      { name: 'a', dtype: 'F32', shape: [2, 3], data: new Uint8Array(24).fill(1) },
      { name: 'b', dtype: 'F8_E4M3', shape: [5], data: new Uint8Array(5).fill(2) },
    ],
    { format: 'pt' },
  );

  it('opens a valid file and reads tensors, ranges and chunks', async () => {
    const f = await SafetensorsFile.open(memorySource('x.safetensors', ok));
    expect(f.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([['a', 'F32', [2, 3]], ['b', 'F8_E4M3', [5]]]);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect([...(await f.readTensor('b'))]).toEqual([2, 2, 2, 2, 2]);
    expect([...(await f.readRange('a', 20, 4))]).toEqual([1, 1, 1, 1]);
    const parts: number[] = [];
    for await (const c of f.chunks('a', 7)) parts.push(c.length);
    expect(parts).toEqual([7, 7, 7, 3]);
    await expect(f.readRange('a', 20, 5)).rejects.toThrow(CheckpointError);
    await expect(f.readTensor('zzz')).rejects.toThrow(/tensor "zzz": is not in this file/);
  });

  const cases: [string, Uint8Array, RegExp][] = [
    ['a file shorter than 8 bytes', new Uint8Array(5), /is 5 bytes long; expected at least 8/],
    ['a header over 100 MB', (() => { const b = Buffer.alloc(16); b.writeBigUInt64LE(100_000_001n); return b; })(), /header length is 100000001 bytes; expected at most 100000000/],
    ['a header that is not an object', rawFile('[1,2]', 0), /starts with "\[1,2\]"/],
    ['a header that is not JSON', rawFile('{"a":', 0), /not valid JSON/],
    ['a header of invalid UTF-8', Buffer.concat([rawFile('{"a":1}', 0).subarray(0, 8), Buffer.from([0x7b, 0xff, 0x7d, 0x20, 0x20, 0x20, 0x20])]), /not valid UTF-8/],
    ['a metadata value that is not a string', rawFile('{"__metadata__":{"k":1}}', 0), /tensor "__metadata__": field "k" is 1/],
    ['a byte range that disagrees with dtype × shape', rawFile('{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,7]}}', 7), /tensor "t": data_offsets \[0, 7\] span 7 bytes; expected 8 bytes/],
    // 2^40 × 2^24 = 2^64 bytes: a u64 product would wrap to 0 and match [0, 0]; BigInt does not.
    ['a shape whose size overflows 64 bits', rawFile(`{"t":{"dtype":"U8","shape":[${2 ** 40},${2 ** 24}],"data_offsets":[0,0]}}`, 0), /span 0 bytes; expected 18446744073709551616 bytes/],
    ['a dimension past 2^53', rawFile('{"t":{"dtype":"U8","shape":[9007199254740993],"data_offsets":[0,0]}}', 0), /shape is \[9007199254740992\]/],
    ['a first tensor not at offset 0', rawFile('{"t":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', 3), /tensor "t": data_offsets \[1, 3\] leave a hole/],
    ['bytes after the last tensor', rawFile('{"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', 3), /1 bytes follow the last tensor's data/],
  ];
  for (const [name, bytes, message] of cases) {
    it(`rejects ${name}`, async () => {
      expect((await openError(bytes)).message).toMatch(message);
    });
  }

  it('accepts zero-sized tensors sharing an offset, as the reference does', async () => {
    const f = await SafetensorsFile.open(memorySource('z', rawFile('{"e":{"dtype":"F32","shape":[0,5],"data_offsets":[0,0]},"f":{"dtype":"BOOL","shape":[0],"data_offsets":[0,0]},"g":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}', 8)));
    expect(f.tensors.map((t) => t.byteSize)).toEqual([0, 0, 8]);
  });
});

describe('the index', () => {
  it('accepts only plain file names as shards', () => {
    for (const bad of ['../x.safetensors', 'a/b', 'a\\b', '/abs.safetensors', 'C:x', '..', '.', '', 'x..y']) expect(unsafeShardName(bad), bad).not.toBeNull();
    expect(unsafeShardName('model-00001-of-00163.safetensors')).toBeNull();
  });

  it('names the problems of a malformed index', () => {
    const problems = (text: string) => parseIndex('i.json', text).problems.map((p) => p.message);
    expect(problems('{"weight_map":{"a":"s1","a":"s2"}}')).toEqual(['i.json: tensor "a": appears twice in weight_map; expected each key once']);
    expect(problems('{"weight_map":[]}')[0]).toMatch(/weight_map is \[\]; expected an object/);
    expect(problems('{"metadata":{"total_size":-1},"weight_map":{}}')[0]).toMatch(/total_size is -1; expected a non-negative integer/);
    expect(problems('{"weight_map":{"t":7}}')[0]).toMatch(/tensor "t": maps to shard 7, which is not a string/);
  });
});

describe('checkpoint folders', () => {
  const tmp = tempFolder('reader');
  const base = join(tmp.dir, 'base');
  beforeAll(() => makeTiny(TINY_CONFIGS[0], base, { shards: 2 }));
  afterAll(tmp.cleanup);

  it('opens a valid folder and reads every tensor through the index', async () => {
    const ckpt = await openCheckpoint(base);
    expect(ckpt.shards.length).toBe(2);
    const names = ckpt.names();
    expect(names).toContain('model.embed_tokens.weight');
    const t = ckpt.tensor('model.norm.weight')!;
    expect((await ckpt.readTensor(t.name)).length).toBe(t.byteSize);
    expect([...(await ckpt.readRange(t.name, 2, 4))]).toEqual([...(await ckpt.readTensor(t.name)).subarray(2, 6)]);
    await ckpt.close();
  });

  it('refuses to open a folder with problems, pointing at dsv3c check when there are several', async () => {
    const dir = join(tmp.dir, 'missing-shard');
    cpSync(base, dir, { recursive: true });
    rmSync(join(dir, 'model-00002-of-00002.safetensors'));
    const scan = await scanCheckpoint(dir);
    expect(scan.problems.map((p) => p.message).join('\n')).toMatch(/model-00002-of-00002.safetensors: cannot be opened/);
    await expect(openCheckpoint(dir)).rejects.toThrow(/and 1 more problems: run dsv3c check/);
  });

  it('uses the index when there is one, else model.safetensors alone', async () => {
    const dir = join(tmp.dir, 'both');
    cpSync(base, dir, { recursive: true });
    const extra = serializeSafetensors([{ name: 'model.norm.weight', dtype: 'U8', shape: [1], data: new Uint8Array(1) }]);
    writeFileSync(join(dir, 'model.safetensors'), extra); // not in the index: not part of the checkpoint
    expect((await scanCheckpoint(dir)).problems).toEqual([]);
    rmSync(join(dir, 'model.safetensors.index.json'));
    const single = await scanCheckpoint(dir);
    expect([...single.present.keys()]).toEqual(['model.norm.weight']);
  });

  it('reports a tensor stored in two shards', async () => {
    const dir = join(tmp.dir, 'twice');
    mkdirSync(dir);
    const shard = serializeSafetensors([{ name: 'x', dtype: 'U8', shape: [1], data: new Uint8Array(1) }]);
    writeFileSync(join(dir, 'a.safetensors'), shard);
    writeFileSync(join(dir, 'b.safetensors'), shard);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'b.safetensors' } }));
    const messages = (await scanCheckpoint(dir)).problems.map((p) => p.message).join('\n');
    expect(messages).toContain(`${join(dir, 'b.safetensors')}: tensor "x": is also in ${join(dir, 'a.safetensors')}`);
    expect(messages).toContain('tensor "y": is mapped to b.safetensors, which has no such tensor');
  });

  it('says so when a folder has no checkpoint at all', async () => {
    const scan = await scanCheckpoint(tmp.dir);
    expect(scan.problems[0].message).toMatch(/holds neither model.safetensors.index.json nor model.safetensors/);
  });
});
