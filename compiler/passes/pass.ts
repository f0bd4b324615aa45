import type { ModelConfig } from '../config/model-config.ts';
import type { Graph } from '../ir/graph.ts';

/** Options every pass may read. */
export interface PassOptions {
  /** 'fp8': W8A8, activations quantized per 1×128 group (DeepSeek's fp8 path); 'none': W8A16. */
  readonly actQuant: 'fp8' | 'none';
}

export const DEFAULT_PASS_OPTIONS: PassOptions = Object.freeze({ actQuant: 'fp8' });

/** A pure Graph → Graph rewrite with a name and the passes that must have run before it. */
export interface Pass {
  readonly name: string;
  readonly requires: readonly string[];
  /** One line: what the pass rewrites into what. */
  readonly doc: string;
  run(graph: Graph, config: ModelConfig, options: PassOptions): Graph;
}
