import { cpSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, editEntry, headerOf, makeTiny, rewriteHeader, tempFolder, TINY_CONFIGS } from './helpers.ts';

const tmp = tempFolder('corrupt');
afterAll(tmp.cleanup);
const base = join(tmp.dir, 'base');
const SHARD1 = 'model-00001-of-00002.safetensors';
const SHARD2 = 'model-00002-of-00002.safetensors';
const INDEX = 'model.safetensors.index.json';

beforeAll(async () => {
  // FP8 and off the 128 grid (hidden 200): scales have partial edge blocks.
  await makeTiny(TINY_CONFIGS.find((c) => c.includes('noqlora'))!, base, { seed: 1, shards: 2 });
});

/** Tensor names of a shard, in data order. */
function tensorsOf(file: string): string[] {
  const json = JSON.parse(headerOf(file).text) as Record<string, { data_offsets: [number, number] }>;
  return Object.keys(json)
    .filter((k) => k !== '__metadata__')
    .sort((a, b) => json[a].data_offsets[0] - json[b].data_offsets[0]);
}

function editIndex(dir: string, edit: (index: { metadata: { total_size: number }; weight_map: Record<string, string> }) => void): void {
  const file = join(dir, INDEX);
  const index = JSON.parse(readFileSync(file, 'utf8'));
  edit(index);
  writeFileSync(file, JSON.stringify(index, null, 2));
}

/** Each corruption returns the file and tensor its message must name; `says` is a phrase the message must hold. */
const CASES: { name: string; says: string; corrupt: (dir: string) => { file: string; tensor: string } }[] = [
  {
    name: 'a truncated shard',
    says: 'past the end of the file',
    corrupt: (dir) => {
      const file = join(dir, SHARD2);
      truncateSync(file, readFileSync(file).length - 100);
      return { file, tensor: tensorsOf(file).at(-1)! };
    },
  },
  {
    name: 'a header length past the end of the file',
    says: 'cannot be read',
    corrupt: (dir) => {
      const file = join(dir, SHARD1);
      const tensor = tensorsOf(file)[0];
      const bytes = readFileSync(file);
      bytes.writeBigUInt64LE(BigInt(bytes.length), 0);
      writeFileSync(file, bytes);
      return { file: join(dir, INDEX), tensor }; // the index's tensors in that shard cannot be read
    },
  },
  {
    name: 'overlapping offsets',
    says: 'overlap',
    corrupt: (dir) => {
      const file = join(dir, SHARD1);
      const tensor = tensorsOf(file)[1];
      rewriteHeader(file, (t) => editEntry(t, tensor, (e) => (e.data_offsets = (e.data_offsets as number[]).map((o) => o - 2))));
      return { file, tensor };
    },
  },
  {
    name: 'a hole between tensors',
    says: 'hole',
    corrupt: (dir) => {
      // Insert 8 unowned bytes before the third tensor and shift it and those after.
      const file = join(dir, SHARD1);
      const names = tensorsOf(file);
      const json = JSON.parse(headerOf(file).text);
      const at = json[names[2]].data_offsets[0];
      for (const n of names.slice(2)) json[n].data_offsets = json[n].data_offsets.map((o: number) => o + 8);
      const { dataStart } = headerOf(file);
      const bytes = readFileSync(file);
      writeFileSync(file, Buffer.concat([bytes.subarray(0, dataStart + at), Buffer.alloc(8), bytes.subarray(dataStart + at)]));
      rewriteHeader(file, () => JSON.stringify(json));
      return { file, tensor: names[2] };
    },
  },
  {
    name: 'a duplicate key',
    says: 'twice',
    corrupt: (dir) => {
      const file = join(dir, SHARD2);
      const tensor = tensorsOf(file)[0];
      rewriteHeader(file, (t) => {
        const entry = `${JSON.stringify(tensor)}:${JSON.stringify(JSON.parse(t)[tensor])}`;
        if (!t.includes(entry)) throw new Error('test setup: entry text not found');
        return t.replace(entry, `${entry},${entry}`);
      });
      return { file, tensor };
    },
  },
  {
    name: 'an unknown dtype',
    says: 'dtype is "F4"',
    corrupt: (dir) => {
      const file = join(dir, SHARD2);
      const tensor = tensorsOf(file)[3];
      rewriteHeader(file, (t) => editEntry(t, tensor, (e) => (e.dtype = 'F4')));
      return { file, tensor };
    },
  },
  {
    name: 'a tensor missing',
    says: 'is missing',
    corrupt: (dir) => {
      // Drop the last tensor of shard 2: header entry, its bytes and its index entry.
      const file = join(dir, SHARD2);
      const tensor = tensorsOf(file).at(-1)!;
      const json = JSON.parse(headerOf(file).text);
      const [b, e] = json[tensor].data_offsets;
      delete json[tensor];
      const { dataStart } = headerOf(file);
      truncateSync(file, dataStart + b);
      rewriteHeader(file, () => JSON.stringify(json));
      editIndex(dir, (i) => {
        delete i.weight_map[tensor];
        i.metadata.total_size -= e - b;
      });
      return { file: join(dir, INDEX), tensor };
    },
  },
  {
    name: 'a wrong shape',
    says: 'has shape [100, 2]; expected [200]',
    corrupt: (dir) => {
      const file = join(dir, SHARD2);
      const tensor = 'model.norm.weight'; // same byte size, another shape: a valid file, a wrong model
      rewriteHeader(file, (t) => editEntry(t, tensor, (e) => (e.shape = [100, 2])));
      return { file, tensor };
    },
  },
  {
    name: 'a scale of the wrong shape',
    says: 'one scale per block of model.layers.0.self_attn.kv_b_proj.weight',
    corrupt: (dir) => {
      const file = join(dir, SHARD1);
      const tensor = 'model.layers.0.self_attn.kv_b_proj.weight_scale_inv'; // [1, 1] for a 120×40 weight
      rewriteHeader(file, (t) => editEntry(t, tensor, (e) => (e.shape = [1, 1, 1])));
      return { file, tensor };
    },
  },
  {
    name: '../ in the index',
    says: 'contains a path separator',
    corrupt: (dir) => {
      const tensor = 'model.norm.weight';
      editIndex(dir, (i) => (i.weight_map[tensor] = `../base/${SHARD2}`));
      return { file: join(dir, INDEX), tensor };
    },
  },
  {
    name: 'a wrong dtype',
    says: 'has dtype F32; expected BF16',
    corrupt: (dir) => {
      const file = join(dir, SHARD2);
      const tensor = 'model.norm.weight'; // [200] BF16 = 400 bytes = [100] F32
      rewriteHeader(file, (t) => editEntry(t, tensor, (e) => ((e.dtype = 'F32'), (e.shape = [100]))));
      return { file, tensor };
    },
  },
  {
    name: 'a tensor not in the index',
    says: 'is not listed in',
    corrupt: (dir) => {
      const tensor = 'model.norm.weight';
      editIndex(dir, (i) => delete i.weight_map[tensor]);
      return { file: join(dir, SHARD2), tensor };
    },
  },
];

describe('check on a corrupted checkpoint', () => {
  it('passes on the uncorrupted one', async () => {
    expect((await check(base)).status).toBe(0);
  });

  for (const c of CASES) {
    it(`fails on ${c.name}, naming the file and the tensor`, async () => {
      const dir = join(tmp.dir, c.name.replace(/\W+/g, '-'));
      cpSync(base, dir, { recursive: true });
      const { file, tensor } = c.corrupt(dir);
      const { status, output } = await check(dir);
      expect(status).not.toBe(0);
      const lines = output.split('\n').filter((l) => l.startsWith('  error: '));
      const named = lines.filter((l) => l.includes(`${file}: tensor ${JSON.stringify(tensor)}`) && l.includes(c.says));
      expect(named, output).not.toEqual([]);
    });
  }

  it('reports a wrong metadata.total_size with the expected sum', async () => {
    const dir = join(tmp.dir, 'total-size');
    cpSync(base, dir, { recursive: true });
    let want = 0;
    editIndex(dir, (i) => {
      want = i.metadata.total_size;
      i.metadata.total_size += 1;
    });
    const { status, output } = await check(dir);
    expect(status).toBe(1);
    expect(output).toContain(`metadata.total_size is ${want + 1}; expected ${want}, the sum of the byte sizes`);
  });

  it('lists every problem, not only the first', async () => {
    const dir = join(tmp.dir, 'several');
    cpSync(base, dir, { recursive: true });
    for (const c of CASES.filter((x) => ['an unknown dtype', 'a wrong shape', '../ in the index'].includes(x.name))) c.corrupt(dir);
    const { output } = await check(dir);
    expect(output).toContain('dtype is "F4"');
    expect(output).toContain('has shape [100, 2]');
    expect(output).toContain('contains a path separator');
  });
});
