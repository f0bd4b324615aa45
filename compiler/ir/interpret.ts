import type { Graph, GraphInput } from './graph.ts';
import { expandNames } from './name-runs.ts';
import type { Mesh } from '../config/mesh.ts';
import { collectiveGroups, meshCoordinates, SINGLE_RANK } from '../config/mesh.ts';
import { applyRecipe, rankSources } from './recipes.ts';
import type { Attrs } from './graph.ts';
import type { OpDef } from './op.ts';
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
  return interpretRanks(graph, [inputs])[0];
}

/**
 * Runs one graph for every rank of a mesh in lockstep, rank r on `inputs[r]` (its slices of the
 * checkpoint tensors, tensor-parallel.ts rankTensors): node by node, each rank on its own values,
 * except that a collective (OpDef.collective) sees the operands of every rank of its group at once
 * (attr group: 'tp', the ranks that share an expert-parallel index, or 'world'). One rank is
 * `interpret`.
 */
export function interpretRanks(graph: Graph, inputs: readonly ReadonlyMap<string, Tensor>[], mesh: Mesh = inputs.length === 1 ? SINGLE_RANK : { tp: inputs.length, ep: 1 }): Map<string, Tensor>[] {
  if (inputs.length !== mesh.tp * mesh.ep) throw new Error(`interpretRanks: ${inputs.length} ranks' inputs for a mesh of ${mesh.tp * mesh.ep}`);
  const ranks = inputs.map(() => new Map<number, Tensor>());
  const bindings: Partial<Record<Sym, number>> = {};
  for (const input of graph.inputs) {
    inputs.forEach((given, r) => {
      const t = given.get(input.name) ?? derive(input, given, meshCoordinates(mesh, r).e);
      bindShape(ranks.length > 1 ? `${input.name} of rank ${r}` : input.name, input.value.type.shape, t.shape, bindings);
      ranks[r].set(input.value.id, t);
    });
  }
  for (const node of graph.nodes) {
    const op = getOp(node.op);
    const args = ranks.map((values) => node.inputs.map((id) => values.get(id)!));
    const outs = op.collective && ranks.length > 1 ? collectiveByGroup(op.collective, args, node.attrs, mesh) : args.map((a) => op.reference(a, node.attrs, bindings));
    outs.forEach((rankOuts, r) =>
      node.outputs.forEach((v, i) => {
        bindShape(`%${v.id} (${node.op} in ${node.scope})`, v.type.shape, rankOuts[i].shape, bindings);
        ranks[r].set(v.id, rankOuts[i]);
      }),
    );
  }
  return ranks.map((values) => new Map(graph.outputs.map((o) => [o.name, values.get(o.value)!])));
}

/** A collective run over each group of ranks its `group` attr names; results in rank order. */
function collectiveByGroup(collective: NonNullable<OpDef['collective']>, perRank: readonly (readonly Tensor[])[], attrs: Attrs, mesh: Mesh): Tensor[][] {
  const out: Tensor[][] = new Array(perRank.length);
  for (const members of collectiveGroups(mesh, attrs.group === 'world' ? 'world' : 'tp')) {
    const results = collective(members.map((r) => perRank[r]), attrs);
    members.forEach((r, i) => (out[r] = results[i]));
  }
  return out;
}

/** A derived weight made from the checkpoint tensors it names, as the loader would make it for expert-parallel rank `epRank`. */
function derive(input: GraphInput, inputs: ReadonlyMap<string, Tensor>, epRank = 0): Tensor {
  if (!input.recipe) throw new Error(`interpret: no tensor given for input ${input.name}`);
  const sources = rankSources(input.recipe, expandNames(input.recipe.sources), epRank).map((name) => {
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

