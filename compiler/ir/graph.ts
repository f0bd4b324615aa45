import type { NameList } from './name-runs.ts';
import type { TensorType } from './types.ts';

export type AttrValue = number | string | boolean | null | readonly (number | string)[];
export type Attrs = Readonly<Record<string, AttrValue>>;

/** One SSA value: a graph input or one output of a node. Ids are dense and assigned in order. */
export interface Value {
  readonly id: number;
  readonly type: TensorType;
}

/**
 * What a graph input is. Weights are named exactly as the checkpoint names them, or carry a
 * `recipe` when they are derived from checkpoint tensors (see DerivedRecipe).
 */
export type InputRole = 'weight' | 'activation' | 'cache';

export interface DerivedRecipe {
  /** What the loader does, e.g. "interleave-rows", "split-kv-b". */
  readonly kind: string;
  /** The checkpoint tensors it reads, in order; expert stacks as name runs (name-runs.ts). */
  readonly sources: NameList;
  readonly attrs: Attrs;
}

export interface GraphInput {
  readonly name: string;
  readonly role: InputRole;
  readonly value: Value;
  readonly recipe?: DerivedRecipe;
}

export interface Node {
  readonly op: string;
  readonly inputs: readonly number[]; // value ids
  readonly attrs: Attrs;
  readonly outputs: readonly Value[];
  /** Where in the model this node sits, e.g. "layers.3.attn"; for printing and kernel names. */
  readonly scope: string;
}

export interface GraphOutput {
  readonly name: string;
  readonly value: number;
}

export type Phase = 'prefill' | 'decode';

/** An immutable SSA graph: inputs, nodes in topological order, named outputs. */
export interface Graph {
  readonly phase: Phase;
  readonly inputs: readonly GraphInput[];
  readonly nodes: readonly Node[];
  readonly outputs: readonly GraphOutput[];
}

/** Canonical text of an attrs record (keys sorted), part of a node's identity. */
export function formatAttrs(attrs: Attrs): string {
  const keys = Object.keys(attrs).sort();
  return keys.map((k) => `${k}=${JSON.stringify(attrs[k])}`).join(', ');
}

/**
 * Whether two attrs records have the same canonical text (formatAttrs), found without building it:
 * hash-consing compares the attrs of nodes that share op and inputs, such as a tensor's slices.
 */
export function sameAttrs(a: Attrs, b: Attrs): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (!Object.hasOwn(b, k) || !sameAttrValue(a[k], b[k])) return false;
  }
  return true;
}

/** Whether JSON.stringify prints two attr values alike: equal, arrays of such, or NaN, ±Infinity and null (all `null`). */
function sameAttrValue(x: AttrValue | undefined, y: AttrValue | undefined): boolean {
  if (x === y) return true;
  if (Array.isArray(x) && Array.isArray(y)) {
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameAttrValue(x[i], y[i])) return false;
    return true;
  }
  return printsAsNull(x) && printsAsNull(y);
}

function printsAsNull(v: AttrValue | undefined): boolean {
  return v === null || (typeof v === 'number' && !Number.isFinite(v));
}

/** Map from value id to its type, over inputs and node outputs; made once per graph (graphs are frozen). */
export function valueTypes(graph: Graph): ReadonlyMap<number, TensorType> {
  let types = typesOfGraph.get(graph);
  if (types) return types;
  types = new Map<number, TensorType>();
  for (const input of graph.inputs) types.set(input.value.id, input.value.type);
  for (const node of graph.nodes) for (const o of node.outputs) types.set(o.id, o.type);
  typesOfGraph.set(graph, types);
  return types;
}
const typesOfGraph = new WeakMap<Graph, Map<number, TensorType>>();
