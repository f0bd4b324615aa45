import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { memorySource } from '../../compiler/checkpoint/byte-source.ts';
import { CheckpointError } from '../../compiler/checkpoint/checkpoint-error.ts';
import { parseIndex } from '../../compiler/checkpoint/checkpoint-index.ts';
import { SAFETENSORS_DTYPE_BYTES, type SafetensorsDType } from '../../compiler/checkpoint/dtypes.ts';
import { SafetensorsFile } from '../../compiler/checkpoint/safetensors-file.ts';
import { serializeSafetensors } from '../../compiler/checkpoint/safetensors-writer.ts';

const DTYPES = Object.keys(SAFETENSORS_DTYPE_BYTES) as SafetensorsDType[];

/** A valid small safetensors file: a few tensors of any dtype, small shapes (zero-sized included). */
const validFile = fc
  .array(
    fc.record({
      dtype: fc.constantFrom(...DTYPES),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
      fill: fc.integer({ min: 0, max: 255 }),
    }),
    { maxLength: 4 },
  )
  .chain((specs) =>
    fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 })).map((metadata) =>
      serializeSafetensors(
        specs.map((s, i) => {
          const n = s.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[s.dtype];
          return { name: `t${i}`, dtype: s.dtype, shape: s.shape, data: new Uint8Array(n).map((_, j) => (s.fill + j) & 0xff) };
        }),
        metadata ?? undefined,
      ),
    ),
  );

/** Values a mutated header field may take: plausible, hostile and nonsense. */
const anyValue = fc.oneof(
  fc.integer({ min: -10, max: 1000 }),
  fc.constantFrom(2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e308, -0, 0.5, Number.MAX_SAFE_INTEGER),
  fc.constantFrom(...DTYPES, 'F4', 'f32', '', 'BF16 '),
  fc.array(fc.integer({ min: -2, max: 2 ** 33 }), { maxLength: 3 }),
  fc.json().map((j) => JSON.parse(j) as unknown),
);

type Header = Record<string, unknown>;
const headerEdit: fc.Arbitrary<(h: Header) => void> = fc.oneof(
  fc.tuple(fc.nat(), fc.constantFrom('dtype', 'shape', 'data_offsets', 'extra'), anyValue).map(([i, field, v]) => (h: Header) => {
    const keys = Object.keys(h);
    const entry = h[keys[i % Math.max(1, keys.length)]];
    if (entry && typeof entry === 'object') (entry as Header)[field] = v;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: -8, max: 8 }), fc.nat(1)).map(([i, d, which]) => (h: Header) => {
    const entry = h[Object.keys(h)[i % Math.max(1, Object.keys(h).length)]] as Header | undefined;
    const o = entry?.data_offsets;
    if (Array.isArray(o) && o.length === 2) o[which] = (o[which] as number) + d;
  }),
  fc.tuple(fc.string({ maxLength: 6 }), anyValue).map(([k, v]) => (h: Header) => void (h[k] = v)),
  fc.nat().map((i) => (h: Header) => void delete h[Object.keys(h)[i % Math.max(1, Object.keys(h).length)]]),
  anyValue.map((v) => (h: Header) => void (h.__metadata__ = v)),
);

type Bytes = Uint8Array;
/** Raw edits of the file: over the length prefix, header or data; cuts and additions. */
const byteEdit: fc.Arbitrary<(b: Bytes) => Bytes> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, v]) => (b: Bytes) => (b.length ? b.map((x, j) => (j === i % b.length ? v : x)) : b)),
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 255 })).map(([i, v]) => (b: Bytes) => b.map((x, j) => (j === i ? v : x))),
  fc.nat().map((n) => (b: Bytes) => b.subarray(0, n % (b.length + 1))),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((extra) => (b: Bytes) => Uint8Array.from([...b, ...extra])),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([i, ins]) => (b: Bytes) => {
    const at = i % (b.length + 1);
    return Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
  }),
  // A header length near the 100 MB cap, past it, or past 2^53.
  fc.constantFrom(99_999_999n, 100_000_001n, 2n ** 53n + 1n, 2n ** 64n - 1n).map((n) => (b: Bytes) => {
    const out = Uint8Array.from(b.length >= 8 ? b : [...b, ...new Uint8Array(8 - b.length)]);
    new DataView(out.buffer).setBigUint64(0, n, true);
    return out;
  }),
);

function withHeader(file: Bytes, edits: ((h: Header) => void)[], duplicate: boolean): Bytes {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(file.subarray(8, 8 + n)).toString('utf8')) as Header;
  for (const e of edits) e(header);
  let text = JSON.stringify(header);
  // A repeated key, which JSON.parse would silently collapse.
  const first = Object.keys(header)[0];
  if (duplicate && first !== undefined) text = text.replace('{', `{${JSON.stringify(first)}:${JSON.stringify(header[first])},`);
  const json = Buffer.from(text, 'utf8');
  const out = new Uint8Array(8 + json.length + file.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(file.subarray(8 + n), 8 + json.length);
  return out;
}

const mutatedFile = fc.oneof(
  fc.tuple(validFile, fc.array(headerEdit, { minLength: 1, maxLength: 3 }), fc.nat(5).map((n) => n === 0)).map(([f, e, d]) => withHeader(f, e, d)),
  fc.tuple(validFile, fc.array(byteEdit, { minLength: 1, maxLength: 3 })).map(([f, edits]) => edits.reduce((b, e) => e(b), f)),
  fc.tuple(validFile, headerEdit, byteEdit).map(([f, h, b]) => b(withHeader(f, [h], false))),
);

/** What a correct read must return, worked out from the raw bytes without the reader. */
function independentRead(file: Bytes): Map<string, Bytes> {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(file.subarray(8, 8 + n)).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  const out = new Map<string, Bytes>();
  for (const [name, e] of Object.entries(header)) {
    if (name !== '__metadata__') out.set(name, file.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]));
  }
  return out;
}

describe('safetensors reader on mutated files', () => {
  test.prop([mutatedFile], { numRuns: 10_000 })('reads correctly or throws CheckpointError, never reads outside the file', async (file) => {
    // memorySource throws a RangeError, not a CheckpointError, for any read outside the bytes.
    let opened: SafetensorsFile;
    try {
      opened = await SafetensorsFile.open(memorySource('fuzz.safetensors', file));
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      expect(e.file).toBe('fuzz.safetensors');
      return;
    }
    const want = independentRead(file);
    expect(opened.tensors.map((t) => t.name).sort()).toEqual([...want.keys()].sort());
    let total = 0;
    for (const t of opened.tensors) {
      const bytes = await opened.readTensor(t.name);
      expect(Buffer.from(bytes).equals(Buffer.from(want.get(t.name)!))).toBe(true);
      expect(bytes.length).toBe(t.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[t.dtype]);
      total += bytes.length;
    }
    // Accepted files tile their data section exactly up to the end of the file.
    expect(8 + Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true)) + total).toBe(file.length);
  });

  test.prop([fc.oneof(fc.json(), fc.string(), validIndexText().chain((t) => fc.tuple(fc.nat(), fc.string({ maxLength: 3 })).map(([i, s]) => t.slice(0, i % t.length) + s + t.slice(i % t.length))))], {
    numRuns: 2_000,
  })('index text parses to an index or problems, never throws', (text) => {
    const { index, problems } = parseIndex('fuzz.index.json', text);
    expect(problems.every((p) => p instanceof CheckpointError)).toBe(true);
    for (const shard of index.weightMap.values()) expect(shard).not.toMatch(/[/\\]|\.\./);
  });
});

function validIndexText(): fc.Arbitrary<string> {
  return fc
    .dictionary(fc.string({ maxLength: 6 }), fc.constantFrom('model-00001-of-00002.safetensors', '../x.safetensors', 'a/b', 'C:x', ''), { maxKeys: 4 })
    .map((weight_map) => JSON.stringify({ metadata: { total_size: 10 }, weight_map }));
}
