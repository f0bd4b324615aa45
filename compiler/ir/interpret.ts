import type { Graph, GraphInput } from './graph.ts';
import { expandNames } from './name-runs.ts';
import { applyRecipe } from './recipes.ts';
import { getOp } from './op.ts';
import './ops/index.ts';
import type { Tensor } from './tensor.ts';
import type { Sym } from './types.ts';
import { formatShape } from './types.ts';

/**
 * Runs a graph on float64 tensors with each op's reference semantics. Symbols are bound from the
 * shapes of the inputs given; a shape that contradicts the graph or an earlier binding is an error.
 */
export function interpret(graph: Graph, inputs: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const values = new Map<number, Tensor>();
  const bindings: Partial<Record<Sym, number>> = {};
  for (const input of graph.inputs) {
    const t = inputs.get(input.name) ?? derive(input, inputs);
    bindShape(input.name, input.value.type.shape, t.shape, bindings);
    values.set(input.value.id, t);
  }
  for (const node of graph.nodes) {
    const args = node.inputs.map((id) => values.get(id)!);
    const outs = getOp(node.op).reference(args, node.attrs, bindings);
    node.outputs.forEach((v, i) => {
      bindShape(`%${v.id} (${node.op} in ${node.scope})`, v.type.shape, outs[i].shape, bindings);
      values.set(v.id, outs[i]);
    });
  }
  return new Map(graph.outputs.map((o) => [o.name, values.get(o.value)!]));
}

/** A derived weight made from the checkpoint tensors it names, as the loader would make it. */
function derive(input: GraphInput, inputs: ReadonlyMap<string, Tensor>): Tensor {
  if (!input.recipe) throw new Error(`interpret: no tensor given for input ${input.name}`);
  const sources = expandNames(input.recipe.sources).map((name) => {
    const t = inputs.get(name);
    if (!t) throw new Error(`interpret: derived weight ${input.name} needs ${name}, which was not given`);
    return t;
  });
  return applyRecipe(input.recipe, sources);
}

function bindShape(what: string, declared: readonly (number | Sym)[], actual: readonly number[], bindings: Partial<Record<Sym, number>>): void {
  const fail = () => new Error(`interpret: ${what} has shape [${actual}], the graph declares ${formatShape(declared)} with ${JSON.stringify(bindings)}`);
  if (declared.length !== actual.length) throw fail();
  declared.forEach((d, i) => {
    if (typeof d === 'number') {
      if (d !== actual[i]) throw fail();
    } else if (bindings[d] === undefined) {
      bindings[d] = actual[i];
    } else if (bindings[d] !== actual[i]) {
      throw fail();
    }
  });
}

