import { rankConfig, SINGLE_RANK } from './config/mesh.ts';
import type { ModelConfig } from './config/model-config.ts';
import type { Graph, Phase } from './ir/graph.ts';
import type { ModelOptions } from './model/build-model.ts';
import { buildModel } from './model/build-model.ts';
import type { PipelineRun } from './passes/pipeline.ts';
import { runPipeline } from './passes/pipeline.ts';
import type { Schedule } from './passes/schedule.ts';
import { schedule } from './passes/schedule.ts';

export interface CompileOptions extends ModelOptions {
  readonly disabledPasses: readonly string[];
}

export interface CompiledPhase {
  readonly phase: Phase;
  readonly model: Graph; // before any pass
  readonly run: PipelineRun; // after each pass
  readonly schedule: Schedule;
}

export const PHASES: readonly Phase[] = ['prefill', 'decode'];

/**
 * config → model graph → passes → schedule, for each phase. On a mesh this is the graph every
 * rank runs, and the passes see the rank's model (rankConfig: its share of heads and sizes).
 */
export function compileModel(config: ModelConfig, options: CompileOptions): CompiledPhase[] {
  const local = rankConfig(config, options.mesh ?? SINGLE_RANK);
  return PHASES.map((phase) => {
    const model = buildModel(config, phase, options);
    const run = runPipeline(model, local, options.disabledPasses, false); // verifies the final graph only
    return { phase, model, run, schedule: schedule(run.graph) };
  });
}
