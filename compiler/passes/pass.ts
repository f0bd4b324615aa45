import type { ModelConfig } from '../config/model-config.ts';
import type { Graph } from '../ir/graph.ts';

/** A pure Graph → Graph rewrite with a name and the passes that must have run before it. */
export interface Pass {
  readonly name: string;
  readonly requires: readonly string[];
  /** One line: what the pass rewrites into what. */
  readonly doc: string;
  run(graph: Graph, config: ModelConfig): Graph;
}
