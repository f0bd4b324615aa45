import type { Attrs, DerivedRecipe, Graph, GraphInput, GraphOutput, InputRole, Node, Phase, Value } from './graph.ts';
import { sameAttrs } from './graph.ts';
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
  // Hash-consing index: the nodes with one first input, as a list linked through node indices
  // (-1 ends it), are the only candidates to equal a new node. Arrays, not a Map of buckets: no
  // allocation per node.
  private readonly lastNodeByFirstInput: number[] = []; // by value id
  private lastNodeWithoutInputs = -1;
  private readonly previousWithFirstInput: number[] = []; // by node index
  private scope = ''; // the scopes `scoped` entered, joined by '.'
  private depth = 0;

  constructor(readonly phase: Phase) {}

  private newValue(type: TensorType): Value {
    const v = Object.freeze({ id: this.values.length, type });
    this.values.push(v);
    this.lastNodeByFirstInput.push(-1);
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

  /**
   * Sets the whole scope that new nodes record: a rewrite gives the nodes that stand for an old node
   * that node's scope. Cheaper per node than `scoped`, which allocates a closure.
   */
  setScope(scope: string): void {
    this.scope = scope;
    this.depth = scope === '' ? 0 : 1; // a `scoped` inside it appends to it
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
    return [...this.addOrFind(op, inputs, attrs)]; // the caller's to change
  }

  /** Adds a single-output node. */
  add1(op: string, inputs: readonly (Value | number)[], attrs: Attrs = NO_ATTRS): Value {
    const outs = this.addOrFind(op, inputs, attrs);
    if (outs.length !== 1) throw new Error(`${op} has ${outs.length} outputs, add1 expects one`);
    return outs[0];
  }

  /** The outputs of the node `add` adds or finds, as the node keeps them. */
  private addOrFind(op: string, inputs: readonly (Value | number)[], attrs: Attrs): readonly Value[] {
    // Exactly sized (`new Array(n)`), where an array grown by push keeps room for 17: the node keeps it.
    const ids = new Array<number>(inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      const v = inputs[i];
      ids[i] = typeof v === 'number' ? v : v.id;
    }
    // Frozen attrs (shared by the caller) are kept as they are, not copied.
    const frozen = Object.isFrozen(attrs) ? attrs : Object.freeze({ ...attrs });
    return this.find(op, ids, frozen) ?? this.addNode(op, ids, frozen, this.infer(op, ids, frozen), undefined);
  }

  /**
   * Adds a copy of `node`, a node of another graph, reading value ids `inputs` (a fresh array the
   * copy keeps), and returns its outputs. Output types follow from input types and attrs alone, so
   * when every input has the type the node's input had (`sameInputTypes`), the copy takes the
   * node's output types without running inference.
   */
  copy(node: Node, inputs: number[], sameInputTypes: boolean): readonly Value[] {
    const twin = this.find(node.op, inputs, node.attrs);
    if (twin) return twin;
    if (sameInputTypes) return this.addNode(node.op, inputs, node.attrs, undefined, node.outputs);
    return this.addNode(node.op, inputs, node.attrs, this.infer(node.op, inputs, node.attrs), undefined);
  }

  /** The outputs of the node already added with this op, inputs and attrs, if there is one. */
  private find(op: string, ids: readonly number[], attrs: Attrs): readonly Value[] | undefined {
    let n = ids.length > 0 ? this.lastNodeByFirstInput[ids[0]] : this.lastNodeWithoutInputs;
    for (; n >= 0; n = this.previousWithFirstInput[n]) {
      const node = this.nodes[n];
      if (node.op === op && sameIds(node.inputs, ids) && sameAttrs(node.attrs, attrs)) return node.outputs;
    }
    return undefined;
  }

  /**
   * Adds a node with frozen `attrs` that keeps `ids`; its outputs have types `types`, or those of
   * `outputsOfCopied`, the outputs of the node it copies. Plain loops in this per-node path: in a
   * cold process, the JIT inlining array builtins and their callbacks costs more than it saves.
   */
  private addNode(op: string, ids: number[], attrs: Attrs, types: readonly TensorType[] | undefined, outputsOfCopied: readonly Value[] | undefined): readonly Value[] {
    const count = types ? types.length : outputsOfCopied!.length;
    const outputs = new Array<Value>(count);
    for (let i = 0; i < count; i++) outputs[i] = this.newValue(types ? types[i] : outputsOfCopied![i].type);
    const node: Node = Object.freeze({ op, inputs: Object.freeze(ids), attrs, outputs: Object.freeze(outputs), scope: this.scope });
    const index = this.nodes.length;
    this.nodes.push(node);
    if (ids.length > 0) {
      this.previousWithFirstInput.push(this.lastNodeByFirstInput[ids[0]]);
      this.lastNodeByFirstInput[ids[0]] = index;
    } else {
      this.previousWithFirstInput.push(this.lastNodeWithoutInputs);
      this.lastNodeWithoutInputs = index;
    }
    return node.outputs;
  }

  /** The op's output types for the types of values `ids`. */
  private infer(op: string, ids: readonly number[], attrs: Attrs): TensorType[] {
    const types = new Array<TensorType>(ids.length);
    for (let i = 0; i < ids.length; i++) types[i] = this.typeOf(ids[i]);
    return getOp(op).infer(types, attrs);
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
