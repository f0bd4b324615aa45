/**
 * manifest.json: every weight the kernels read and how to make it from the checkpoint. A weight
 * is either one checkpoint tensor as stored (`checkpoint`) or derived at load time from several
 * (`recipe`, see compiler/ir/recipes.ts for each kind's float64 semantics). `sources` lists the
 * checkpoint tensors the manifest reads with the dtype and shape they must have, so a loader can
 * check the whole checkpoint before it reads a byte of data. On disk every list of names is
 * written as name runs (name-runs.ts); manifestText and parseManifest convert.
 */
import type { ModelConfig } from '../config/model-config.ts';
import type { DerivedRecipe, Graph } from '../ir/graph.ts';
import type { DType } from '../ir/types.ts';
import { DTYPE_BYTES } from '../ir/types.ts';
import type { CheckpointDType } from '../model/checkpoint-tensors.ts';
import { checkpointTensors } from '../model/checkpoint-tensors.ts';
import { jsonText } from './json-text.ts';
import type { NameList } from './name-runs.ts';
import { compressNames, expandNames } from './name-runs.ts';

export const MANIFEST_FORMAT = 'dsv3c-manifest/2';

export interface ManifestWeight {
  /** The graph input's name: a checkpoint tensor name, or a derived name such as `…experts.gate_up.weight`. */
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: number;
  /** Set when the weight is a checkpoint tensor stored as the kernels read it. */
  readonly checkpoint?: string;
  /** Set when the weight is derived from checkpoint tensors at load time. */
  readonly recipe?: DerivedRecipe;
}

/** Checkpoint tensors of one dtype and shape (grouped: DeepSeek-V3 reads 90,427 tensors of 17 kinds). */
export interface ManifestSourceGroup {
  readonly dtype: CheckpointDType;
  readonly shape: readonly number[];
  readonly names: readonly string[];
}

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  /** Sorted by name; the union over the phases (prefill and decode share most weights). */
  readonly weights: readonly ManifestWeight[];
  /** Checkpoint tensors read, grouped by dtype and shape; names in checkpoint order (layer, then expert). */
  readonly sources: readonly ManifestSourceGroup[];
  readonly totalBytes: number;
}

/** The weights of the given graphs (their `weight` inputs), with the checkpoint tensors they need. */
export function buildManifest(config: ModelConfig, graphs: readonly Graph[]): Manifest {
  const byName = new Map<string, ManifestWeight>();
  for (const g of graphs) {
    for (const input of g.inputs) {
      if (input.role !== 'weight' || byName.has(input.name)) continue;
      const shape = input.value.type.shape.map((d) => {
        if (typeof d !== 'number') throw new Error(`weight ${input.name} has a symbolic dimension ${d}`);
        return d;
      });
      const bytes = shape.reduce((a, d) => a * d, DTYPE_BYTES[input.value.type.dtype]);
      const base = { name: input.name, dtype: input.value.type.dtype, shape, bytes };
      byName.set(input.name, input.recipe ? { ...base, recipe: input.recipe } : { ...base, checkpoint: input.name });
    }
  }
  const weights = [...byName.values()].sort((a, b) => compare(a.name, b.name));
  const used = new Set<string>();
  for (const w of weights) for (const s of w.recipe ? w.recipe.sources : [w.checkpoint!]) used.add(s);
  // Grouped by dtype then each dimension through nested maps: no key string per tensor (90k for V3).
  const groups: ManifestSourceGroup[] = [];
  const root = new Map<unknown, unknown>();
  for (const t of checkpointTensors(config)) {
    if (!used.delete(t.name)) continue;
    let level = child(child(root, t.dtype), t.shape.length);
    for (const d of t.shape) level = child(level, d);
    let group = level.get('group') as { dtype: CheckpointDType; shape: readonly number[]; names: string[] } | undefined;
    if (!group) {
      group = { dtype: t.dtype, shape: t.shape, names: [] };
      level.set('group', group);
      groups.push(group);
    }
    group.names.push(t.name);
  }
  const [missing] = used;
  if (missing !== undefined) throw new Error(`weight source ${missing} is not a tensor of this config's checkpoint`);
  const keyOf = (g: ManifestSourceGroup) => `${g.dtype}[${g.shape.join(',')}]`;
  const sources = groups.sort((a, b) => compare(keyOf(a), keyOf(b)));
  return { format: MANIFEST_FORMAT, weights, sources, totalBytes: weights.reduce((a, w) => a + w.bytes, 0) };
}

/** manifest.json's text: the manifest with every name list written as name runs. */
export function manifestText(m: Manifest): string {
  return jsonText({
    ...m,
    weights: m.weights.map((w) => (w.recipe ? { ...w, recipe: { ...w.recipe, sources: compressNames(w.recipe.sources) } } : w)),
    sources: m.sources.map((g) => ({ ...g, names: compressNames(g.names) })),
  });
}

/** The manifest of manifest.json's parsed JSON (format checked by the caller): name runs expanded. */
export function parseManifest(json: Manifest): Manifest {
  const expand = (list: unknown) => expandNames(list as NameList);
  return {
    ...json,
    weights: json.weights.map((w) => (w.recipe ? { ...w, recipe: { ...w.recipe, sources: expand(w.recipe.sources) } } : w)),
    sources: json.sources.map((g) => ({ ...g, names: expand(g.names) })),
  };
}

function child(level: Map<unknown, unknown>, key: unknown): Map<unknown, unknown> {
  let next = level.get(key) as Map<unknown, unknown> | undefined;
  if (!next) level.set(key, (next = new Map()));
  return next;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
