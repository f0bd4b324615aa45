import { statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../compiler/checkpoint/checkpoint-error.ts';
import { openCheckpoint } from '../../compiler/checkpoint/checkpoint.ts';
import type { Manifest } from '../../compiler/package/manifest.ts';
import { checkWeightSources } from '../../runtime/src/weights/check-sources.ts';
import { loadWeights } from '../../runtime/src/weights/load-weights.ts';
import { WeightLoadError } from '../../runtime/src/weights/weight-load-error.ts';
import { tempFolder } from '../checkpoint/helpers.ts';
import { editTensor, lastTensorOf, renameTensor, shardOf } from './checkpoint-edits.ts';
import { CollectSink } from './collect-sink.ts';
import { seedNote, tinyCheckpoint } from './tiny-fixture.ts';

const tmp = tempFolder('weight-errors');
afterAll(tmp.cleanup);

let n = 0;
/** A fresh tiny-noqlora checkpoint (FP8, small) and its manifest. */
async function fresh() {
  const dir = join(tmp.dir, `c${n++}`);
  return { dir, ...(await tinyCheckpoint('tiny-noqlora', dir, 2)) };
}

/** A source the manifest reads, by dtype and rank (2-D sources picked non-square). */
function sourceOf(manifest: Manifest, dtype: string, rank: number): string {
  const g = manifest.sources.find((g) => g.dtype === dtype && g.shape.length === rank && (rank !== 2 || g.shape[0] !== g.shape[1]));
  if (!g) throw new Error(`test setup: no ${dtype} source of rank ${rank}`);
  return g.names[g.names.length - 1];
}

/** Loads expecting a WeightLoadError before the sink sees anything. */
async function loadFails(dir: string, manifest: Manifest): Promise<WeightLoadError> {
  const ck = await openCheckpoint(dir);
  const sink = new CollectSink();
  try {
    const e = await loadWeights(ck, manifest, sink).then(() => null, (e: unknown) => e);
    expect(e).toBeInstanceOf(WeightLoadError);
    expect(sink.events).toEqual([]);
    expect(sink.writes).toBe(0);
    // The check alone finds the same problems.
    if ((e as WeightLoadError).message.includes('does not hold')) expect(() => checkWeightSources(ck, manifest)).toThrow(WeightLoadError);
    return e as WeightLoadError;
  } finally {
    await ck.close();
  }
}

describe('weight loading refuses a checkpoint that does not fit the manifest, before any byte', () => {
  it('a missing tensor: named, with the shards and index it is missing from', async ({ onTestFailed }) => {
    onTestFailed(() => console.error(seedNote()));
    const { dir, manifest } = await fresh();
    const tensor = sourceOf(manifest, 'F8_E4M3', 2);
    renameTensor(dir, tensor, `${tensor}.renamed`);
    const e = await loadFails(dir, manifest);
    expect(e.userFacing).toBe(true);
    expect(e.problems).toEqual([expect.objectContaining({ tensor, file: null })]);
    expect(e.message).toContain(JSON.stringify(tensor));
    expect(e.message).toMatch(/is missing: no shard holds it and model\.safetensors\.index\.json does not list it; expected F8_E4M3\[\d+,\d+\]/);
  });

  it('a wrong shape: names the tensor, its shard, what was found and expected', async () => {
    const { dir, manifest } = await fresh();
    const tensor = sourceOf(manifest, 'BF16', 2);
    let shape: number[] = [];
    const file = editTensor(dir, tensor, (entry) => {
      shape = entry.shape as number[];
      entry.shape = [shape[1], shape[0]];
    });
    const e = await loadFails(dir, manifest);
    expect(e.problems).toEqual([{ tensor, file, problem: 'has the wrong shape', found: `BF16[${shape[1]},${shape[0]}]`, expected: `BF16[${shape[0]},${shape[1]}]` }]);
    expect(e.message).toContain(`tensor ${JSON.stringify(tensor)} in ${file} has the wrong shape: found BF16[${shape[1]},${shape[0]}]; expected BF16[${shape[0]},${shape[1]}]`);
  });

  it('a wrong dtype: names the tensor, its shard, what was found and expected', async () => {
    const { dir, manifest } = await fresh();
    const tensor = sourceOf(manifest, 'BF16', 1);
    const file = editTensor(dir, tensor, (entry) => (entry.dtype = 'F16'));
    const e = await loadFails(dir, manifest);
    expect(e.problems).toEqual([expect.objectContaining({ tensor, file, problem: 'has the wrong dtype' })]);
    expect(e.message).toMatch(new RegExp(`in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} has the wrong dtype: found F16\\[\\d+\\]; expected BF16\\[\\d+\\]`));
  });

  it('collects every problem into one error', async () => {
    const { dir, manifest } = await fresh();
    const missing = sourceOf(manifest, 'F8_E4M3', 2);
    const reshaped = sourceOf(manifest, 'BF16', 2);
    const retyped = sourceOf(manifest, 'BF16', 1);
    renameTensor(dir, missing, `${missing}.renamed`);
    editTensor(dir, reshaped, (entry) => (entry.shape = [...(entry.shape as number[])].reverse()));
    editTensor(dir, retyped, (entry) => (entry.dtype = 'F16'));
    const e = await loadFails(dir, manifest);
    expect(e.problems.map((p) => p.tensor).sort()).toEqual([missing, reshaped, retyped].sort());
    for (const p of e.problems) {
      expect(e.message).toContain(JSON.stringify(p.tensor));
      if (p.file) expect(e.message).toContain(p.file);
    }
    expect(e.message).toContain('(3 problems)');
  });

  it('only checks the sources of the weights it loads', async () => {
    const { dir, manifest } = await fresh();
    const tensor = sourceOf(manifest, 'BF16', 1); // a layer norm
    editTensor(dir, tensor, (entry) => (entry.dtype = 'F16'));
    const ck = await openCheckpoint(dir);
    try {
      const readers = new Set(manifest.weights.filter((w) => (w.recipe?.sources ?? [w.checkpoint]).includes(tensor)).map((w) => w.name));
      const sink = new CollectSink();
      await loadWeights(ck, manifest, sink, { only: (name) => !readers.has(name) });
      expect(sink.bytes.size).toBe(manifest.weights.length - readers.size);
      await expect(loadWeights(ck, manifest, new CollectSink(), { only: (name) => readers.has(name) })).rejects.toThrow(WeightLoadError);
    } finally {
      await ck.close();
    }
  });

  it('a truncated shard: the checkpoint reader names the file and the tensor cut short', async () => {
    const { dir, manifest } = await fresh();
    const file = shardOf(dir, sourceOf(manifest, 'F8_E4M3', 2));
    const last = lastTensorOf(file);
    truncateSync(file, statSync(file).size - 10);
    const e = await openCheckpoint(dir).then(() => null, (e: unknown) => e);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as CheckpointError).file).toBe(file);
    expect((e as CheckpointError).tensor).toBe(last);
    expect((e as Error).message).toContain(JSON.stringify(last));
  });

  it('a shard cut short while loading: the read error names the tensor and its shard', async () => {
    const { dir, manifest } = await fresh();
    const ck = await openCheckpoint(dir);
    try {
      const file = shardOf(dir, sourceOf(manifest, 'F8_E4M3', 2));
      truncateSync(file, 1000);
      const e = await loadWeights(ck, manifest, new CollectSink()).then(() => null, (e: unknown) => e);
      expect(e).toBeInstanceOf(WeightLoadError);
      const p = (e as WeightLoadError).problems[0];
      expect(p.file).toBe(file);
      expect(ck.shards.find((s) => s.file === file)!.tensor(p.tensor)).toBeDefined();
      expect((e as Error).message).toMatch(/could not be read at bytes \d+\.\.\d+/);
      expect((e as Error).cause).toBeInstanceOf(CheckpointError);
    } finally {
      await ck.close();
    }
  });
});

describe('weight loading refuses a manifest it cannot honour, before any byte', () => {
  it('a conversion into fp8e4m3 (it would need block scales): names the tensor and its shard', async () => {
    const { dir, manifest } = await fresh();
    const w = manifest.weights.find((w) => !w.recipe && w.dtype === 'bf16')!;
    const bad: Manifest = { ...manifest, weights: manifest.weights.map((x) => (x === w ? { ...x, dtype: 'fp8e4m3', bytes: x.bytes / 2 } : x)) };
    const e = await loadFails(dir, bad);
    expect(e.problems).toEqual([expect.objectContaining({ tensor: w.checkpoint, file: shardOf(dir, w.checkpoint!) })]);
    expect(e.message).toContain('is BF16 and cannot become an fp8e4m3 weight without new block scales');
  });

  it('a recipe whose result does not have the manifest shape, and a source the manifest does not list', async () => {
    const { dir, manifest } = await fresh();
    const stacked = manifest.weights.find((w) => w.recipe?.kind === 'stack')!;
    const wrongShape = { ...stacked, shape: [stacked.shape[0] + 1, ...stacked.shape.slice(1)], bytes: (stacked.bytes / stacked.shape[0]) * (stacked.shape[0] + 1) };
    const e = await loadFails(dir, { ...manifest, weights: manifest.weights.map((x) => (x === stacked ? wrongShape : x)) });
    expect(e.problems).toEqual([expect.objectContaining({ tensor: stacked.name })]);
    expect(e.message).toContain(`would have shape [${stacked.shape.join(',')}] from its recipe`);

    const unlisted = { ...manifest, sources: manifest.sources.map((g) => ({ ...g, names: g.names.filter((n) => n !== stacked.recipe!.sources[0]) })) };
    const e2 = await loadFails(dir, unlisted);
    expect(e2.message).toContain('but manifest.sources does not list it');
  });
});
