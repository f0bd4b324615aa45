/**
 * manifest.json: every weight the kernels read and how to make it from the checkpoint. A weight
 * is either one checkpoint tensor as stored (`checkpoint`) or derived at load time from several
 * (`recipe`, see compiler/ir/recipes.ts for each kind's float64 semantics). `sources` lists the
 * checkpoint tensors the manifest reads with the dtype and shape they must have, so a loader can
 * check the whole checkpoint before it reads a byte of data. On disk every list of names is
 * written as name runs (name-runs.ts): manifestFile builds that form, parseManifest expands it.
 *
 * On a mesh, `sources` still lists the checkpoint's whole tensors (every expert's), and each rank
 * reads its slice of those that compiler/model/tensor-parallel.ts splits (tpSlice) and stacks its
 * experts (recipes.ts rankSources); the weights' shapes and recipes are a rank's.
 */
import type { Mesh } from '../config/mesh.ts';
import { SINGLE_RANK } from '../config/mesh.ts';
import type { ModelConfig } from '../config/model-config.ts';
import type { DerivedRecipe, Graph } from '../ir/graph.ts';
import type { DType } from '../ir/types.ts';
import { DTYPE_BYTES } from '../ir/types.ts';
import type { CheckpointDType, CheckpointTensor } from '../model/checkpoint-tensors.ts';
import { checkpointTensors } from '../model/checkpoint-tensors.ts';
import { jsonText } from './json-text.ts';
import type { NameList, NameRun } from '../ir/name-runs.ts';
import { canonicalNames, expandNames, runName } from '../ir/name-runs.ts';

export const MANIFEST_FORMAT = 'dsv3c-manifest/3';

export interface ManifestWeight {
  /** The graph input's name: a checkpoint tensor name, or a derived name such as `…experts.gate_up.weight`. */
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: number;
  /** Set when the weight is a checkpoint tensor stored as the kernels read it. */
  readonly checkpoint?: string;
  /** Set when the weight is derived from checkpoint tensors at load time. */
  readonly recipe?: ManifestRecipe;
}

/** A derived weight's recipe with its sources spelled out, as the loader reads them. */
export interface ManifestRecipe extends Omit<DerivedRecipe, 'sources'> {
  readonly sources: readonly string[];
}

/** Checkpoint tensors of one dtype and shape (grouped: DeepSeek-V3 reads 90,427 tensors of 17 kinds). */
export interface ManifestSourceGroup {
  readonly dtype: CheckpointDType;
  readonly shape: readonly number[];
  readonly names: readonly string[];
}

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  /** The ranks the weights are for; each rank's weights (and `totalBytes`) are its slices. */
  readonly mesh: Mesh;
  /** Sorted by name; the union over the phases (prefill and decode share most weights). */
  readonly weights: readonly ManifestWeight[];
  /** Checkpoint tensors read, grouped by dtype and shape; on disk, name runs ordered by the checkpoint position of their first name (layer, then expert). */
  readonly sources: readonly ManifestSourceGroup[];
  readonly totalBytes: number;
}

/** manifest.json as written: every list of tensor names as name runs. */
export interface ManifestFile extends Omit<Manifest, 'weights' | 'sources'> {
  readonly weights: readonly (Omit<ManifestWeight, 'recipe'> & { readonly recipe?: DerivedRecipe })[];
  readonly sources: readonly (Omit<ManifestSourceGroup, 'names'> & { readonly names: NameList })[];
}

/** The weights of the given graphs (their `weight` inputs), with the checkpoint tensors they need. */
export function buildManifest(config: ModelConfig, graphs: readonly Graph[], mesh: Mesh = SINGLE_RANK): Manifest {
  return parseManifest(manifestFile(config, graphs, mesh));
}

/**
 * The manifest as written. A stacked weight reads hundreds of expert tensors named by one pattern,
 * which its recipe carries as name runs; the source groups are put together from those runs, not
 * from 90k single names: a run's names share dtype and shape (they differ only in the expert
 * number), so its first and last name per template are looked up in the checkpoint.
 */
export function manifestFile(config: ModelConfig, graphs: readonly Graph[], mesh: Mesh = SINGLE_RANK): ManifestFile {
  const byName = new Map<string, ManifestFile['weights'][number]>();
  for (const g of graphs) {
    for (const input of g.inputs) {
      if (input.role !== 'weight' || byName.has(input.name)) continue;
      const shape = input.value.type.shape.map((d) => {
        if (typeof d !== 'number') throw new Error(`weight ${input.name} has a symbolic dimension ${d}`);
        return d;
      });
      const bytes = shape.reduce((a, d) => a * d, DTYPE_BYTES[input.value.type.dtype]);
      const base = { name: input.name, dtype: input.value.type.dtype, shape, bytes };
      const { recipe } = input;
      // Recipes carry runs already; single names a pass listed are made runs where they form one.
      byName.set(input.name, recipe ? { ...base, recipe: { ...recipe, sources: canonicalNames(recipe.sources) } } : { ...base, checkpoint: input.name });
    }
  }
  const weights = [...byName.values()].sort((a, b) => compare(a.name, b.name));

  const { tensors, position } = lookedUp(config, weights);
  const positionOf = (name: string): number => {
    const at = position.get(name);
    if (at === undefined) throw new Error(`weight source ${name} is not a tensor of this config's checkpoint`);
    return at;
  };
  const keyOf = (t: { dtype: string; shape: readonly number[] }) => `${t.dtype}[${t.shape.join(',')}]`;
  // Groups by dtype and shape; each item kept with the checkpoint position of its first name.
  const groups = new Map<string, { dtype: CheckpointDType; shape: readonly number[]; items: { at: number; item: string | NameRun }[] }>();
  const add = (at: number, item: string | NameRun) => {
    const t = tensors[at];
    const key = keyOf(t);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { dtype: t.dtype, shape: t.shape, items: [] }));
    group.items.push({ at, item });
  };
  const seen = new Set<string>();
  for (const w of weights) {
    for (const item of w.recipe ? w.recipe.sources : [w.checkpoint!]) {
      if (typeof item === 'string') {
        if (!seen.has(item)) add(positionOf(item), item);
        seen.add(item);
        continue;
      }
      // A run's names differ only in their expert number: the first and last of each template
      // stand for the rest. It joins one group whole when its templates share dtype and shape.
      const firsts = item.each.map((_, k) => {
        const first = positionOf(runName(item, k, item.from));
        if (keyOf(tensors[first]) !== keyOf(tensors[positionOf(runName(item, k, item.from + item.count - 1))])) {
          throw new Error(`weight ${w.name}: the tensors of ${item.each[k]} differ in dtype or shape`);
        }
        return first;
      });
      const alike = firsts.every((at) => keyOf(tensors[at]) === keyOf(tensors[firsts[0]]));
      const runs = alike ? [item] : item.each.map((t) => ({ each: [t], from: item.from, count: item.count }));
      runs.forEach((run, k) => {
        const key = `${run.each.join()}|${run.from}|${run.count}`;
        if (!seen.has(key)) add(firsts[k], run);
        seen.add(key);
      });
    }
  }
  const sources = [...groups.keys()]
    .sort(compare)
    .map((key) => {
      const { dtype, shape, items } = groups.get(key)!;
      return { dtype, shape, names: inCheckpointOrder(items) };
    });
  return { format: MANIFEST_FORMAT, mesh: { tp: mesh.tp, ep: mesh.ep }, weights, sources, totalBytes: weights.reduce((a, w) => a + w.bytes, 0) };
}

/**
 * The checkpoint tensors the manifest looks up, each with its position in the checkpoint's order:
 * the single sources and the first and last name of each run. V3 has 91k tensors and the runs
 * stand for nearly all of them, so the list first holds only the experts whose numbers begin or
 * end a run; the whole checkpoint is listed only when a name is still missing (a single expert
 * tensor outside any run).
 */
function lookedUp(config: ModelConfig, weights: ManifestFile['weights']): { tensors: readonly CheckpointTensor[]; position: Map<string, number> } {
  const wanted = new Set<string>();
  const experts = new Set<number>();
  for (const w of weights) {
    for (const item of w.recipe ? w.recipe.sources : [w.checkpoint!]) {
      if (typeof item === 'string') {
        wanted.add(item);
        continue;
      }
      for (const n of [item.from, item.from + item.count - 1]) {
        experts.add(n);
        for (let k = 0; k < item.each.length; k++) wanted.add(runName(item, k, n));
      }
    }
  }
  const find = (tensors: readonly CheckpointTensor[]) => {
    const position = new Map<string, number>();
    tensors.forEach((t, at) => wanted.has(t.name) && position.set(t.name, at));
    return { tensors, position };
  };
  const some = find(checkpointTensors(config, (e) => experts.has(e)));
  return some.position.size === wanted.size ? some : find(checkpointTensors(config));
}

/** A group's items by checkpoint position, with stretches of single names made runs where they form one (the layers' norms). */
function inCheckpointOrder(items: { at: number; item: string | NameRun }[]): NameList {
  return canonicalNames(items.sort((a, b) => a.at - b.at).map((i) => i.item));
}

/** manifest.json's text. */
export function manifestText(m: ManifestFile): string {
  return jsonText(m);
}

/** The manifest of manifest.json's parsed JSON (format checked by the caller): name runs expanded. */
export function parseManifest(json: ManifestFile): Manifest {
  return {
    ...json,
    weights: json.weights.map((w) => (w.recipe ? { ...w, recipe: { ...w.recipe, sources: expandNames(w.recipe.sources) } } : (w as ManifestWeight))),
    sources: json.sources.map((g) => ({ ...g, names: expandNames(g.names) })),
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
