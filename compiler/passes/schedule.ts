import type { Graph, Node } from '../ir/graph.ts';

/** Ops that only re-view their input's memory: they cost no launch and get no buffer of their own. */
export const VIEW_OPS: ReadonlySet<string> = new Set(['reshape', 'slice']);

export interface Schedule {
  readonly graph: Graph;
  /** The kernels of one step in launch order: the input of codegen. */
  readonly kernels: readonly Node[];
  /** Decode steps have fixed shapes for a given batch size, so they can be captured and replayed as one CUDA graph. */
  readonly capturable: boolean;
}

/**
 * schedule — requires: an optimized graph. The graph's order is already topological and keeps
 * each layer's kernels together, which is the order one stream should launch them in; views drop out.
 */
export function schedule(graph: Graph): Schedule {
  return {
    graph,
    kernels: graph.nodes.filter((n) => !VIEW_OPS.has(n.op)),
    capturable: graph.phase === 'decode',
  };
}

/** Kernels of each decoder layer, by layer index ("layers.3.attn" and "layers.3.mlp" both count for layer 3). */
export function kernelsPerLayer(s: Schedule): Map<number, Node[]> {
  const perLayer = new Map<number, Node[]>();
  for (const k of s.kernels) {
    const m = /^layers\.(\d+)(\.|$)/.exec(k.scope);
    if (!m) continue;
    const list = perLayer.get(Number(m[1])) ?? [];
    list.push(k);
    perLayer.set(Number(m[1]), list);
  }
  return perLayer;
}
