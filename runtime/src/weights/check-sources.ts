import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SINGLE_FILE } from '../../../compiler/checkpoint/checkpoint.ts';
import { INDEX_FILE } from '../../../compiler/checkpoint/checkpoint-index.ts';
import type { Manifest, ManifestWeight } from '../../../compiler/package/manifest.ts';
import { shardOfTensor, type WeightCheckpoint } from './checkpoint-reader.ts';
import { WeightLoadError, type WeightProblem } from './weight-load-error.ts';

/** Checkpoint tensors a weight reads. */
export function weightSources(w: ManifestWeight): readonly string[] {
  if (w.recipe) return w.recipe.sources;
  if (w.checkpoint === undefined) throw new Error(`manifest weight ${w.name} has neither a checkpoint tensor nor a recipe`);
  return [w.checkpoint];
}

/**
 * Checks, before any data is read, that every checkpoint tensor `manifest.sources` lists (with
 * `only`: those the selected weights read) is in the checkpoint with the dtype and shape
 * `manifest.sources` expects, and that every weight reads only tensors `sources` lists. Collects
 * every problem and throws one WeightLoadError naming each tensor and its shard file.
 */
export function checkWeightSources(checkpoint: WeightCheckpoint, manifest: Manifest, options: { only?: (weightName: string) => boolean } = {}): void {
  const only = options.only ?? (() => true);
  const needed = new Set<string>();
  const problems: WeightProblem[] = [];
  const listed = new Set(manifest.sources.flatMap((g) => g.names));
  for (const w of manifest.weights) {
    if (!only(w.name)) continue;
    for (const s of weightSources(w)) {
      needed.add(s);
      if (!listed.has(s)) problems.push({ tensor: s, file: null, problem: `is read by weight ${JSON.stringify(w.name)} but manifest.sources does not list it`, expected: 'a manifest whose sources list every tensor its weights read' });
    }
  }
  const files = shardOfTensor(checkpoint);
  const missing = existsSync(join(checkpoint.dir, INDEX_FILE))
    ? `is missing: no shard holds it and ${INDEX_FILE} does not list it`
    : `is missing from ${join(checkpoint.dir, SINGLE_FILE)}`;
  for (const group of manifest.sources) {
    const want = `${group.dtype}[${group.shape.join(',')}]`;
    for (const name of group.names) {
      if (options.only && !needed.has(name)) continue;
      const info = checkpoint.tensor(name);
      const file = files.get(name) ?? null;
      if (!info) {
        problems.push({ tensor: name, file, problem: missing, expected: want });
        continue;
      }
      const dtypeOk = info.dtype === group.dtype;
      const shapeOk = info.shape.length === group.shape.length && info.shape.every((d, i) => d === group.shape[i]);
      if (dtypeOk && shapeOk) continue;
      const what = !dtypeOk && !shapeOk ? 'has the wrong dtype and shape' : !dtypeOk ? 'has the wrong dtype' : 'has the wrong shape';
      problems.push({ tensor: name, file, problem: what, found: `${info.dtype}[${info.shape.join(',')}]`, expected: want });
    }
  }
  if (problems.length > 0) throw new WeightLoadError(`checkpoint ${checkpoint.dir} does not hold the tensors the manifest reads`, problems);
}
