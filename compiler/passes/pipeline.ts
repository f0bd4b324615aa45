import type { ModelConfig } from '../config/model-config.ts';
import type { Graph } from '../ir/graph.ts';
import { verify } from '../ir/verify.ts';
import { absorbMla } from './absorb-mla.ts';
import { fuseFp8Linear } from './fuse-fp8-linear.ts';
import { fuseRmsnorm } from './fuse-rmsnorm.ts';
import { fuseSwiglu } from './fuse-swiglu.ts';
import { lowerMoe } from './lower-moe.ts';
import type { Pass } from './pass.ts';

/**
 * The optimization pipeline, in order. lower-moe runs first: it sees the shared expert's plain
 * linears (and lowers them into its grouped GEMMs), and it turns DeepSeek-V3's ~90k per-expert
 * weight inputs into a few stacked ones, so every later pass rewrites a small graph. fuse-rmsnorm
 * runs last so that it finds every activation quant the GEMM passes introduced.
 */
export const PIPELINE: readonly Pass[] = [
  lowerMoe, //        routing, dispatch, grouped GEMMs, combine
  absorbMla, //       decode attention over the latent cache
  fuseFp8Linear, //   dequant + matmul → block-scaled GEMM; q_a + kv_a merged
  fuseSwiglu, //      gate + up + silu·mul → one GEMM with a SwiGLU epilogue
  fuseRmsnorm, //     residual + norm + quant; latent norm + RoPE + cache write
];

export const PASS_NAMES: readonly string[] = PIPELINE.map((p) => p.name);

export interface PipelineRun {
  readonly graph: Graph;
  /** The graph after each pass that ran, for --dump-ir. */
  readonly steps: readonly { pass: string; graph: Graph }[];
}

/** Unknown or dependent pass names in --disable-pass are user errors. */
export class PassError extends Error {
  readonly userFacing = true;
}

/**
 * Runs the pipeline minus `disabled`. The IR verifier checks the final graph; with `verifyEach`
 * (tests), it checks the graph after every pass instead, which names the pass that broke it.
 */
export function runPipeline(graph: Graph, config: ModelConfig, disabled: readonly string[] = [], verifyEach = true, pipeline: readonly Pass[] = PIPELINE): PipelineRun {
  for (const name of disabled) {
    if (!pipeline.some((p) => p.name === name)) throw new PassError(`--disable-pass ${name}: no such pass; the passes are ${PASS_NAMES.join(', ')}`);
  }
  const ran = new Set<string>();
  const steps: { pass: string; graph: Graph }[] = [];
  for (const pass of pipeline) {
    if (disabled.includes(pass.name)) continue;
    const missing = pass.requires.filter((r) => !ran.has(r));
    if (missing.length > 0) throw new PassError(`pass ${pass.name} requires ${missing.join(', ')}, which is disabled`);
    graph = pass.run(graph, config);
    if (verifyEach) verify(graph);
    ran.add(pass.name);
    steps.push({ pass: pass.name, graph });
  }
  if (!verifyEach) verify(graph);
  return { graph, steps };
}
