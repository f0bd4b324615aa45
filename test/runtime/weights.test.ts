import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../compiler/checkpoint/checkpoint.ts';
import { compileModel } from '../../compiler/compile-model.ts';
import type { Manifest, ManifestWeight } from '../../compiler/package/manifest.ts';
import { buildManifest } from '../../compiler/package/manifest.ts';
import type { WeightCheckpoint } from '../../runtime/src/weights/checkpoint-reader.ts';
import { loadWeights, MIN_CHUNK_BYTES } from '../../runtime/src/weights/load-weights.ts';
import { tempFolder } from '../checkpoint/helpers.ts';
import { CollectSink } from './collect-sink.ts';
import { seedNote, tinyCheckpoint } from './tiny-fixture.ts';
import { decodeAs, encodeAs, interpreterWeight, roundAs } from './weight-reference.ts';

const tmp = tempFolder('weights');
afterAll(tmp.cleanup);

const CONFIGS = ['tiny-moe-128', 'tiny-noqlora', 'tiny-bf16-dense1', 'tiny-v3-offgrid'];

/** A checkpoint that only exposes what the loader may use and records the largest read. */
function readRecorder(ck: Checkpoint): WeightCheckpoint & { maxRead: number; reads: number } {
  const r = {
    dir: ck.dir,
    shards: ck.shards,
    tensor: (name: string) => ck.tensor(name),
    maxRead: 0,
    reads: 0,
    readRange(name: string, start: number, length: number) {
      r.maxRead = Math.max(r.maxRead, length);
      r.reads++;
      return ck.readRange(name, start, length);
    },
  };
  return r;
}

/** Each loaded weight, decoded, equals the interpreter's derivation (on a mesh, from `rank`'s slices) rounded to the weight's dtype; bytes equal too. */
async function expectInterpreterValues(ck: Checkpoint, manifest: Manifest, sink: CollectSink, rank = 0): Promise<void> {
  for (const w of manifest.weights) {
    const expected = roundAs(await interpreterWeight(ck, w, manifest.mesh, rank), w.dtype);
    const loaded = sink.bytes.get(w.name)!;
    const got = decodeAs(loaded, w.dtype);
    let bad = -1;
    for (let i = 0; i < got.length && bad < 0; i++) if (!(got[i] === expected[i] || (Number.isNaN(got[i]) && Number.isNaN(expected[i])))) bad = i;
    expect(bad, `${w.name} (${w.recipe?.kind ?? 'checkpoint'}) element ${bad}: loaded ${got[bad]}, interpreter ${expected[bad]}; ${seedNote()}`).toBe(-1);
    // Byte-exact too (−0 and the dtype's own encoding).
    expect(sameBytes(loaded, encodeAs(expected, w.dtype)), `${w.name} bytes; ${seedNote()}`).toBe(true);
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

const isStacked = (w: ManifestWeight) => w.recipe?.kind === 'stack';

describe('loadWeights on tiny checkpoints', () => {
  for (const name of CONFIGS) {
    it(`${name}: every weight equals the interpreter's derivation, streamed in whole or in small chunks`, async ({ onTestFailed }) => {
      onTestFailed(() => console.error(`weights.test ${name}: ${seedNote()}`));
      const { manifest, open } = await tinyCheckpoint(name, join(tmp.dir, name));
      const ck = await open();
      try {
        const kinds = new Set(manifest.weights.map((w) => w.recipe?.kind ?? 'checkpoint'));
        expect(kinds.has('kv-b-split') && kinds.has('stack') && kinds.has('interleave-rows')).toBe(true);

        const sink = new CollectSink();
        const summary = await loadWeights(ck, manifest, sink);
        expect(summary).toEqual({ weights: manifest.weights.length, bytes: manifest.totalBytes });
        expect(sink.events.filter((e) => e.startsWith('begin ')).map((e) => e.slice(6))).toEqual(manifest.weights.map((w) => w.name));
        await expectInterpreterValues(ck, manifest, sink);

        // Small chunks: the same bytes, and no read or piece above the chunk size — a stacked
        // expert weight goes to the sink far below one expert's share of it.
        const chunkBytes = 4096;
        const reader = readRecorder(ck);
        const small = new CollectSink();
        await loadWeights(reader, manifest, small, { chunkBytes });
        for (const w of manifest.weights) expect(sameBytes(small.bytes.get(w.name)!, sink.bytes.get(w.name)!), w.name).toBe(true);
        expect(reader.maxRead).toBeLessThanOrEqual(chunkBytes);
        for (const w of manifest.weights) expect(small.maxPiece.get(w.name), w.name).toBeLessThanOrEqual(chunkBytes);
        // Stacked expert weights: one expert's share is far above a chunk, and no piece is.
        const stacked = manifest.weights.filter(isStacked);
        expect(stacked.some((w) => w.bytes / w.shape[0] > 4 * chunkBytes)).toBe(true);
        for (const w of stacked) expect(small.maxPiece.get(w.name)!, w.name).toBeLessThanOrEqual(chunkBytes);
      } finally {
        await ck.close();
      }
    });
  }
});

describe('loadWeights for the ranks of a tensor-parallel mesh', () => {
  for (const name of ['tiny-tp2', 'tiny-bf16-dense1']) {
    it(`${name}, tp=2: each rank's weights equal the interpreter's derivation from its slices, in whole or in small chunks`, async ({ onTestFailed }) => {
      onTestFailed(() => console.error(`weights.test ${name} tp=2: ${seedNote()}`));
      const { config, open } = await tinyCheckpoint(name, join(tmp.dir, `${name}-tp2`));
      const mesh = { tp: 2, ep: 1 };
      const manifest = buildManifest(config, compileModel(config, { actQuant: 'fp8', disabledPasses: [], mesh }).map((p) => p.schedule.graph), mesh);
      const ck = await open();
      try {
        const ranks: CollectSink[] = [];
        for (const rank of [0, 1]) {
          const sink = new CollectSink();
          expect(await loadWeights(ck, manifest, sink, { rank })).toEqual({ weights: manifest.weights.length, bytes: manifest.totalBytes });
          await expectInterpreterValues(ck, manifest, sink, rank);
          const reader = readRecorder(ck);
          const small = new CollectSink();
          await loadWeights(reader, manifest, small, { rank, chunkBytes: 4096 });
          for (const w of manifest.weights) expect(sameBytes(small.bytes.get(w.name)!, sink.bytes.get(w.name)!), `${w.name} of rank ${rank}`).toBe(true);
          expect(reader.maxRead).toBeLessThanOrEqual(4096);
          ranks.push(sink);
        }
        // The ranks differ exactly where tensor parallelism splits: the embedding, q/kv_b/o, the MLPs, the head.
        const differing = manifest.weights.filter((w) => !sameBytes(ranks[0].bytes.get(w.name)!, ranks[1].bytes.get(w.name)!)).map((w) => w.name);
        expect(differing).toContain('lm_head.weight');
        expect(differing).toContain('model.embed_tokens.weight');
        expect(differing.some((n) => n.endsWith('o_proj.weight'))).toBe(true);
        expect(differing.some((n) => n.endsWith('layernorm.weight'))).toBe(false);
        await expect(loadWeights(ck, manifest, new CollectSink(), { rank: 2 })).rejects.toThrow(/rank 2 of a mesh of 2 ranks/);
      } finally {
        await ck.close();
      }
    });
  }
});

describe('loadWeights options', () => {
  const dirName = 'options';
  let fixture: Awaited<ReturnType<typeof tinyCheckpoint>>;
  const setup = async () => (fixture ??= await tinyCheckpoint('tiny-noqlora', join(tmp.dir, dirName)));

  it('only: loads just the selected weights and reads only their sources', async ({ onTestFailed }) => {
    onTestFailed(() => console.error(seedNote()));
    const { manifest, open } = await setup();
    const ck = await open();
    try {
      const only = (n: string) => n.startsWith('model.layers.1.');
      const selected = manifest.weights.filter((w) => only(w.name));
      expect(selected.length).toBeGreaterThan(0);
      const reader = readRecorder(ck);
      const touched = new Set<string>();
      const tracking: WeightCheckpoint = { ...reader, readRange: (n, s, l) => (touched.add(n), reader.readRange(n, s, l)) };
      const sink = new CollectSink();
      const summary = await loadWeights(tracking, manifest, sink, { only });
      expect([...sink.bytes.keys()]).toEqual(selected.map((w) => w.name));
      expect(summary.bytes).toBe(selected.reduce((a, w) => a + w.bytes, 0));
      expect([...touched].every((n) => n.startsWith('model.layers.1.'))).toBe(true);
    } finally {
      await ck.close();
    }
  });

  it('onProgress: monotone, names the weight being written, ends at the total', async () => {
    const { manifest, open } = await setup();
    const ck = await open();
    try {
      const calls: [number, number, string][] = [];
      await loadWeights(ck, manifest, new CollectSink(), { chunkBytes: 8192, onProgress: (d, t, n) => calls.push([d, t, n]) });
      expect(calls.length).toBeGreaterThan(manifest.weights.length);
      calls.forEach(([d, t], i) => {
        expect(t).toBe(manifest.totalBytes);
        if (i > 0) expect(d).toBeGreaterThan(calls[i - 1][0]);
      });
      expect(calls.at(-1)![0]).toBe(manifest.totalBytes);
      expect([...new Set(calls.map((c) => c[2]))]).toEqual(manifest.weights.map((w) => w.name));
    } finally {
      await ck.close();
    }
  });

  it('the smallest chunk gives the same bytes; only a W_UK output row (nope values) may exceed it', async () => {
    const { manifest, config, open } = await setup();
    const ck = await open();
    try {
      const whole = new CollectSink();
      await loadWeights(ck, manifest, whole);
      const reader = readRecorder(ck);
      const tiny = new CollectSink();
      await loadWeights(reader, manifest, tiny, { chunkBytes: MIN_CHUNK_BYTES });
      expect(reader.maxRead).toBeLessThanOrEqual(MIN_CHUNK_BYTES);
      for (const w of manifest.weights) {
        expect(sameBytes(tiny.bytes.get(w.name)!, whole.bytes.get(w.name)!), w.name).toBe(true);
        const limit = w.recipe?.kind === 'kv-b-split' && w.recipe.attrs.part === 'uk' ? Math.max(MIN_CHUNK_BYTES, config.qkNopeHeadDim * 2) : MIN_CHUNK_BYTES;
        expect(tiny.maxPiece.get(w.name)!, w.name).toBeLessThanOrEqual(limit);
      }
    } finally {
      await ck.close();
    }
  });

  it('rejects a chunk size below the minimum', async () => {
    const { manifest, open } = await setup();
    const ck = await open();
    try {
      await expect(loadWeights(ck, manifest, new CollectSink(), { chunkBytes: 8 })).rejects.toThrow(/chunkBytes 8/);
    } finally {
      await ck.close();
    }
  });
});
