import type { Attrs, DerivedRecipe, Graph, GraphInput, GraphOutput, InputRole, Node, Phase, Value } from './graph.ts';
import { formatAttrs } from './graph.ts';
import { getOp } from './op.ts';
import type { DType, Shape, TensorType } from './types.ts';
import { sameType, tensorType } from './types.ts';

const NO_ATTRS: Attrs = Object.freeze({});

/**
 * Builds an immutable graph. Nodes are hash-consed: adding a node whose op, inputs and attrs equal
 * an existing node's returns that node's outputs, so structure that is equal is the same value.
 */
export class GraphBuilder {
  private readonly inputs: GraphInput[] = [];
  private readonly inputByName = new Map<string, Value>();
  private readonly nodes: Node[] = [];
  private readonly outputs: GraphOutput[] = [];
  private readonly values: Value[] = []; // by id: ids are dense
  // Nodes by first input id: the few nodes of a bucket are compared by op, inputs and attrs.
  private readonly interned = new Map<number, Node[]>();
  private scope = ''; // the scopes `scoped` entered, joined by '.'
  private depth = 0;

  constructor(readonly phase: Phase) {}

  private newValue(type: TensorType): Value {
    const v = Object.freeze({ id: this.values.length, type });
    this.values.push(v);
    return v;
  }

  /** Declares a graph input; declaring the same name twice returns the first (types must agree). */
  input(name: string, role: InputRole, dtype: DType, shape: Shape, recipe?: DerivedRecipe): Value {
    return this.declareInput(name, role, tensorType(dtype, shape), recipe);
  }

  /** Declares `input`, an input of another graph, with its (interned) type and recipe. */
  copyInput(input: GraphInput): Value {
    return this.declareInput(input.name, input.role, input.value.type, input.recipe);
  }

  private declareInput(name: string, role: InputRole, type: TensorType, recipe: DerivedRecipe | undefined): Value {
    const existing = this.inputByName.get(name);
    if (existing) {
      if (!sameType(existing.type, type)) {
        throw new Error(`input ${name} declared as ${JSON.stringify(existing.type)} and ${JSON.stringify(type)}`);
      }
      return existing;
    }
    const value = this.newValue(type);
    this.inputs.push(Object.freeze(recipe ? { name, role, value, recipe: Object.freeze(recipe) } : { name, role, value }));
    this.inputByName.set(name, value);
    return value;
  }

  typeOf(v: Value | number): TensorType {
    const id = typeof v === 'number' ? v : v.id;
    const value = this.values[id];
    if (!value) throw new Error(`value %${id} does not belong to this graph`);
    return value.type;
  }

  /** Runs `body` with `name` appended to the scope that new nodes record. */
  scoped<T>(name: string, body: () => T): T {
    const outer = this.scope;
    // One string per scope entered, shared by the nodes added in it.
    this.scope = this.depth++ === 0 ? name : `${outer}.${name}`;
    try {
      return body();
    } finally {
      this.scope = outer;
      this.depth--;
    }
  }

  /** Adds a node (or finds its twin) and returns its outputs. */
  add(op: string, inputs: readonly (Value | number)[], attrs: Attrs = NO_ATTRS): Value[] {
    return this.addNode(op, inputs, attrs);
  }

  /**
   * Adds a copy of `node`, a node of another graph, reading `inputs`. Output types follow from input
   * types and attrs alone, so when every input has the type the node's input had
   * (`sameInputTypes`), the copy takes the node's output types without running inference.
   */
  copy(node: Node, inputs: readonly Value[], sameInputTypes: boolean): Value[] {
    return this.addNode(node.op, inputs, node.attrs, sameInputTypes ? outputTypes(node) : undefined);
  }

  // Plain loops in this per-node path: in a cold process, the JIT inlining array builtins and their
  // callbacks costs more than it saves.
  private addNode(op: string, inputs: readonly (Value | number)[], attrs: Attrs, knownTypes?: readonly TensorType[]): Value[] {
    const ids: number[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const v = inputs[i];
      ids.push(typeof v === 'number' ? v : v.id);
    }
    // Frozen attrs (a node's own, copied by a rewrite) are shared, not copied.
    const frozen = Object.isFrozen(attrs) ? attrs : Object.freeze({ ...attrs });
    const first = ids.length > 0 ? ids[0] : -1;
    const bucket = this.interned.get(first);
    if (bucket) {
      for (let i = 0; i < bucket.length; i++) {
        const n = bucket[i];
        if (n.op === op && sameIds(n.inputs, ids) && (n.attrs === frozen || formatAttrs(n.attrs) === formatAttrs(frozen))) return [...n.outputs];
      }
    }
    const outTypes = knownTypes ?? this.infer(op, ids, frozen);
    const outputs: Value[] = [];
    for (let i = 0; i < outTypes.length; i++) outputs.push(this.newValue(outTypes[i]));
    // The node keeps spread copies: exactly sized, where an array grown by push keeps room for 17.
    const node: Node = Object.freeze({
      op,
      inputs: Object.freeze([...ids]),
      attrs: frozen,
      outputs: Object.freeze([...outputs]),
      scope: this.scope,
    });
    this.nodes.push(node);
    if (bucket) bucket.push(node);
    else this.interned.set(first, [node]);
    return outputs;
  }

  /** The op's output types for the types of values `ids`. */
  private infer(op: string, ids: readonly number[], attrs: Attrs): TensorType[] {
    return getOp(op).infer(ids.map((id) => this.typeOf(id)), attrs);
  }

  /** Adds a single-output node. */
  add1(op: string, inputs: readonly (Value | number)[], attrs: Attrs = NO_ATTRS): Value {
    const outs = this.add(op, inputs, attrs);
    if (outs.length !== 1) throw new Error(`${op} has ${outs.length} outputs, add1 expects one`);
    return outs[0];
  }

  output(name: string, v: Value): void {
    this.outputs.push(Object.freeze({ name, value: v.id }));
  }

  build(): Graph {
    return Object.freeze({
      phase: this.phase,
      inputs: Object.freeze([...this.inputs]),
      nodes: Object.freeze([...this.nodes]),
      outputs: Object.freeze([...this.outputs]),
    });
  }
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function outputTypes(node: Node): TensorType[] {
  const types: TensorType[] = [];
  for (let i = 0; i < node.outputs.length; i++) types.push(node.outputs[i].type);
  return types;
}
