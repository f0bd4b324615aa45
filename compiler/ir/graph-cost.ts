import type { Graph } from './graph.ts';
import { valueTypes } from './graph.ts';
import { getOp } from './op.ts';
import type { Bindings } from './types.ts';

export interface GraphCost {
  readonly flops: number;
  readonly bytes: number;
  readonly byOp: Readonly<Record<string, { flops: number; bytes: number; count: number }>>;
}

/** Sums every node's declared cost under concrete symbol bindings. */
export function graphCost(graph: Graph, bindings: Bindings): GraphCost {
  const types = valueTypes(graph);
  const byOp: Record<string, { flops: number; bytes: number; count: number }> = {};
  let flops = 0;
  let bytes = 0;
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((id) => types.get(id)!);
    const outputs = node.outputs.map((o) => o.type);
    const c = getOp(node.op).cost(inputs, outputs, node.attrs, bindings);
    const row = (byOp[node.op] ??= { flops: 0, bytes: 0, count: 0 });
    row.flops += c.flops;
    row.bytes += c.bytes;
    row.count += 1;
    flops += c.flops;
    bytes += c.bytes;
  }
  return { flops, bytes, byOp };
}
