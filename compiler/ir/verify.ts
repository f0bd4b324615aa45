import type { Graph } from './graph.ts';
import { getOp } from './op.ts';
import './ops/index.ts';
import type { TensorType } from './types.ts';
import { formatType, sameType } from './types.ts';

/** A graph that breaks an IR rule; lists every problem found. */
export class VerifyError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`graph does not verify:\n  ${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? `\n  … ${problems.length - 20} more` : ''}`);
    this.name = 'VerifyError';
  }
}

/**
 * The IR's rules, checked in one pass: SSA (each value defined once, before use), unique input and
 * output names, every node's output types equal to what its op infers.
 */
export function verify(graph: Graph): void {
  const problems: string[] = [];
  // Plain loops and a table by value id: in a cold process, the JIT inlining array builtins and
  // callbacks costs more than it saves, and a Map grows by rehashing.
  const types: (TensorType | undefined)[] = [];
  const define = (id: number, t: TensorType, where: string | number) => {
    if (types[id] !== undefined) problems.push(`${typeof where === 'number' ? nodeAt(graph, where) : where}: value %${id} is defined twice`);
    types[id] = t;
  };
  const names = new Set<string>();
  for (let i = 0; i < graph.inputs.length; i++) {
    const input = graph.inputs[i];
    if (names.has(input.name)) problems.push(`input ${input.name} is declared twice`);
    names.add(input.name);
    define(input.value.id, input.value.type, `input ${input.name}`);
  }
  for (let i = 0; i < graph.nodes.length; i++) {
    const node = graph.nodes[i];
    const argTypes = new Array<TensorType>(node.inputs.length);
    let defined = true;
    for (let k = 0; k < node.inputs.length; k++) {
      const t = types[node.inputs[k]];
      if (!t) {
        problems.push(`${nodeAt(graph, i)}: uses %${node.inputs[k]} before it is defined`);
        defined = false;
      } else argTypes[k] = t;
    }
    if (defined) {
      try {
        const inferred = getOp(node.op).infer(argTypes, node.attrs);
        if (inferred.length !== node.outputs.length) {
          problems.push(`${nodeAt(graph, i)}: has ${node.outputs.length} outputs, the op gives ${inferred.length}`);
        }
        for (let j = 0; j < inferred.length; j++) {
          const actual = node.outputs[j]?.type;
          if (actual && !sameType(actual, inferred[j])) {
            problems.push(`${nodeAt(graph, i)}: output ${j} is ${formatType(actual)}, the op infers ${formatType(inferred[j])}`);
          }
        }
      } catch (e) {
        problems.push(`${nodeAt(graph, i)}: ${(e as Error).message}`);
      }
    }
    for (let j = 0; j < node.outputs.length; j++) define(node.outputs[j].id, node.outputs[j].type, i);
  }
  const outNames = new Set<string>();
  for (let i = 0; i < graph.outputs.length; i++) {
    const o = graph.outputs[i];
    if (outNames.has(o.name)) problems.push(`output ${o.name} is named twice`);
    outNames.add(o.name);
    if (types[o.value] === undefined) problems.push(`output ${o.name} refers to undefined %${o.value}`);
  }
  if (problems.length > 0) throw new VerifyError(problems);
}

/** Where a problem is, for node `i`: built only for a problem, as most graphs have none. */
function nodeAt(graph: Graph, i: number): string {
  const node = graph.nodes[i];
  return `node ${i} ${node.op} (${node.scope})`;
}
