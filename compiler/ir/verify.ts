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
  const types = new Map<number, TensorType>();
  const define = (id: number, t: TensorType, where: () => string) => {
    if (types.has(id)) problems.push(`${where()}: value %${id} is defined twice`);
    types.set(id, t);
  };
  const names = new Set<string>();
  for (const input of graph.inputs) {
    if (names.has(input.name)) problems.push(`input ${input.name} is declared twice`);
    names.add(input.name);
    define(input.value.id, input.value.type, () => `input ${input.name}`);
  }
  // Plain loops: in a cold process, the JIT inlining array builtins and callbacks costs more than it saves.
  for (let i = 0; i < graph.nodes.length; i++) {
    const node = graph.nodes[i];
    // Built only for a problem: most graphs have none, and this runs for every node.
    const where = () => `node ${i} ${node.op} (${node.scope})`;
    const argTypes: TensorType[] = [];
    for (let k = 0; k < node.inputs.length; k++) {
      const t = types.get(node.inputs[k]);
      if (!t) problems.push(`${where()}: uses %${node.inputs[k]} before it is defined`);
      else argTypes.push(t);
    }
    if (argTypes.length === node.inputs.length) {
      try {
        const inferred = getOp(node.op).infer(argTypes, node.attrs);
        if (inferred.length !== node.outputs.length) {
          problems.push(`${where()}: has ${node.outputs.length} outputs, the op gives ${inferred.length}`);
        }
        for (let j = 0; j < inferred.length; j++) {
          const actual = node.outputs[j]?.type;
          if (actual && !sameType(actual, inferred[j])) {
            problems.push(`${where()}: output ${j} is ${formatType(actual)}, the op infers ${formatType(inferred[j])}`);
          }
        }
      } catch (e) {
        problems.push(`${where()}: ${(e as Error).message}`);
      }
    }
    for (let j = 0; j < node.outputs.length; j++) define(node.outputs[j].id, node.outputs[j].type, where);
  }
  const outNames = new Set<string>();
  for (const o of graph.outputs) {
    if (outNames.has(o.name)) problems.push(`output ${o.name} is named twice`);
    outNames.add(o.name);
    if (!types.has(o.value)) problems.push(`output ${o.name} refers to undefined %${o.value}`);
  }
  if (problems.length > 0) throw new VerifyError(problems);
}
