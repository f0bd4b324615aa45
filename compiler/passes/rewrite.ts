import { GraphBuilder } from '../ir/builder.ts';
import type { DerivedRecipe, Graph, GraphInput, Node, Value } from '../ir/graph.ts';
import type { TensorType } from '../ir/types.ts';

/** What a rewrite rule sees at one node of the old graph, and how it builds the new one. */
export interface RewriteContext {
  /** The new graph under construction (its nodes are hash-consed). */
  readonly b: GraphBuilder;
  readonly old: Graph;
  /** The new value standing for an old value id. */
  map(oldId: number): Value;
  /** The node of the old graph that produced an old value (undefined for graph inputs). */
  producer(oldId: number): Node | undefined;
  /** The old graph input that an old value is, if it is one. */
  inputName(oldId: number): string | undefined;
  /** The recipe of the old graph input that an old value is, if it is a derived weight. */
  recipe(oldId: number): DerivedRecipe | undefined;
  /** How many old nodes (and graph outputs) use an old value. */
  uses(oldId: number): number;
  /** The old nodes that use an old value. */
  users(oldId: number): readonly Node[];
  /** From now on, old value `oldId` is `v` in the new graph (for a fusion that absorbs an earlier node). */
  replace(oldId: number, v: Value): void;
}

/**
 * Returns the new values for the node's outputs, or undefined to copy the node unchanged. An output
 * may be null when nothing reads it any more (its readers were fused away); reading it is an error.
 */
export type RewriteRule = (node: Node, ctx: RewriteContext) => (Value | null)[] | undefined;

/**
 * Rebuilds `graph` node by node, letting `rule` replace any node, then drops what nothing uses.
 * Rules see the old graph; a fusion at a consumer may `replace` its producer's outputs, and the
 * producer's copy dies if nothing else reads it.
 */
export function rewriteGraph(graph: Graph, rule: RewriteRule): Graph {
  const b = new GraphBuilder(graph.phase);
  const old = indexGraph(graph);
  const mapping = new Array<Value | undefined>(old.size).fill(undefined); // old value id → new value
  const map = (id: number): Value => {
    let v = mapping[id];
    // Inputs are declared in the new graph when first read, so ones a rewrite stops reading
    // vanish without a copy (DeepSeek-V3's unfused graph has ~90k weight inputs).
    const input = v ? undefined : old.inputs[id];
    if (input) mapping[id] = v = b.copyInput(input);
    if (!v) throw new Error(`rewrite: old value %${id} has no new value yet`);
    return v;
  };
  const ctx: RewriteContext = {
    b,
    old: graph,
    map,
    producer: (id) => old.producers[id],
    inputName: (id) => old.inputs[id]?.name,
    recipe: (id) => old.inputs[id]?.recipe,
    uses: (id) => (old.users[id]?.length ?? 0) + (old.outputUses[id] ?? 0),
    users: (id) => old.users[id] ?? [],
    replace: (id, v) => void (mapping[id] = v),
  };
  const copy = (node: Node): readonly Value[] => {
    const inputs = new Array<number>(node.inputs.length); // exactly sized: the copy keeps it
    let sameTypes = true;
    for (let i = 0; i < inputs.length; i++) {
      const v = map(node.inputs[i]);
      inputs[i] = v.id;
      sameTypes &&= v.type === old.types[node.inputs[i]];
    }
    return b.copy(node, inputs, sameTypes);
  };
  const allClaimed = (node: Node) => {
    for (let i = 0; i < node.outputs.length; i++) if (mapping[node.outputs[i].id] === undefined) return false;
    return true;
  };
  const rewriteNode = (node: Node): void => {
    b.setScope(node.scope); // what replaces the node sits where it sat
    const replaced = rule(node, ctx);
    // A node whose outputs an earlier fusion claimed whole is gone: nothing to copy.
    if (!replaced && allClaimed(node)) return;
    const outs = replaced ?? copy(node);
    if (outs.length !== node.outputs.length) {
      throw new Error(`rewrite: ${node.op} in ${node.scope} has ${node.outputs.length} outputs, the rule gave ${outs.length}`);
    }
    for (let i = 0; i < outs.length; i++) {
      const v = outs[i];
      const id = node.outputs[i].id;
      // An output a fusion already claimed keeps that value when the node itself is copied.
      if (v !== null && (replaced || mapping[id] === undefined)) mapping[id] = v;
    }
  };
  // forEach, not a loop: the JIT would compile a hot loop here together with the rest of
  // rewriteGraph (on-stack replacement), again for every pass; the callback compiles once for all.
  graph.nodes.forEach(rewriteNode);
  b.setScope('');
  for (const o of graph.outputs) b.output(o.name, ctx.map(o.value));
  return eliminateDeadCode(b.build());
}

/** What a rewrite looks up in the old graph, by value id: ids are small integers, so arrays. */
interface GraphIndex {
  readonly size: number;
  readonly producers: readonly (Node | undefined)[];
  readonly users: readonly (Node[] | undefined)[];
  readonly outputUses: readonly number[]; // graph outputs that name the value
  readonly types: readonly (TensorType | undefined)[];
  readonly inputs: readonly (GraphInput | undefined)[];
}

// Plain loops here, in eliminateDeadCode and in GraphBuilder: a compile is a cold process, where the
// JIT's inlining of an array builtin and its callback into these hot functions costs more than it saves.
function indexGraph(graph: Graph): GraphIndex {
  const size = valueIdBound(graph);
  const producers = new Array<Node | undefined>(size).fill(undefined);
  const users = new Array<Node[] | undefined>(size).fill(undefined);
  const outputUses = new Array<number>(size).fill(0);
  const types = new Array<TensorType | undefined>(size).fill(undefined);
  const inputs = new Array<GraphInput | undefined>(size).fill(undefined);
  for (let n = 0; n < graph.nodes.length; n++) {
    const node = graph.nodes[n];
    for (let i = 0; i < node.outputs.length; i++) {
      const o = node.outputs[i];
      producers[o.id] = node;
      types[o.id] = o.type;
    }
    for (let i = 0; i < node.inputs.length; i++) {
      const list = users[node.inputs[i]];
      if (!list) users[node.inputs[i]] = [node]; // most values have one reader: no room for more
      else if (!list.includes(node)) list.push(node);
    }
  }
  for (let i = 0; i < graph.outputs.length; i++) {
    const id = graph.outputs[i].value;
    outputUses[id] = (outputUses[id] ?? 0) + 1;
  }
  for (let i = 0; i < graph.inputs.length; i++) {
    const input = graph.inputs[i];
    inputs[input.value.id] = input;
    types[input.value.id] = input.value.type;
  }
  return { size, producers, users, outputUses, types, inputs };
}

/**
 * One more than the largest value id of `graph`: ids are assigned in order, so the last input's or
 * the last node's last output's. Only a size for the per-value tables, which grow past it if need be.
 */
function valueIdBound(graph: Graph): number {
  const lastInput = graph.inputs.at(-1)?.value.id ?? -1;
  const lastOutput = graph.nodes.at(-1)?.outputs.at(-1)?.id ?? -1;
  return Math.max(lastInput, lastOutput) + 1;
}

/** Drops nodes none of whose outputs is used, and inputs nothing reads. */
export function eliminateDeadCode(graph: Graph): Graph {
  const live = new Array<boolean>(valueIdBound(graph)).fill(false); // by value id
  for (const o of graph.outputs) live[o.value] = true;
  const kept: Node[] = [];
  for (let n = graph.nodes.length - 1; n >= 0; n--) {
    const node = graph.nodes[n];
    let used = false;
    for (let i = 0; i < node.outputs.length; i++) used ||= live[node.outputs[i].id] === true;
    if (!used) continue;
    kept.push(node);
    for (let i = 0; i < node.inputs.length; i++) live[node.inputs[i]] = true;
  }
  kept.reverse();
  const inputs: GraphInput[] = [];
  for (let i = 0; i < graph.inputs.length; i++) if (live[graph.inputs[i].value.id]) inputs.push(graph.inputs[i]);
  return Object.freeze({
    phase: graph.phase,
    inputs: Object.freeze(inputs),
    nodes: Object.freeze(kept),
    outputs: graph.outputs,
  });
}
