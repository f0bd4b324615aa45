import type { Command } from 'commander';
import type { Mesh } from '../../config/mesh.ts';
import { MeshError, SINGLE_RANK, parseMesh, validateCompileMesh, validateMesh } from '../../config/mesh.ts';
import type { ModelConfig } from '../../config/model-config.ts';
import { derivedDims } from '../../config/model-config.ts';
import { loadConfig } from '../../config/parse-config.ts';
import { graphCost } from '../../ir/graph-cost.ts';
import { buildModel } from '../../model/build-model.ts';
import { runPipeline } from '../../passes/pipeline.ts';
import { kvBytesPerToken, paramCounts, rankMemory, weightBytes } from '../../model/model-stats.ts';
import { UsageError } from '../usage-error.ts';
import { formatInspectReport } from './inspect-format.ts';

const GIB = 1024 ** 3;

export interface InspectOptions {
  config: string;
  json?: boolean;
  mesh?: string;
  context: string;
  gpuMem: string;
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('Report parameter counts, weight bytes, KV cache size, FLOPs per token and per-rank memory for a config')
    .requiredOption('--config <file>', 'a DeepseekV3ForCausalLM config.json')
    .option('--json', 'print the report as JSON')
    .option('--mesh <tp=N,ep=M>', 'tensor × expert parallel mesh to size per-rank memory for', 'tp=1,ep=1')
    .option('--context <tokens>', 'context length for KV cache bytes and attention FLOPs', '4096')
    .option('--gpu-mem <GiB>', 'memory of one GPU, to say whether a rank fits', '80')
    .action((opts: InspectOptions) => {
      const report = inspectReport(loadConfig(opts.config), opts);
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatInspectReport(report));
    });
}

function positive(flag: string, text: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a positive number`);
  return v;
}

export type InspectReport = ReturnType<typeof inspectReport>;

function compileRefusal(config: ModelConfig, mesh: Mesh): string | null {
  try {
    validateCompileMesh(config, mesh);
    return null;
  } catch (e) {
    if (e instanceof MeshError) return e.message;
    throw e;
  }
}

export function inspectReport(config: ModelConfig, opts: Omit<InspectOptions, 'config'>) {
  const context = positive('--context', opts.context);
  if (!Number.isInteger(context)) throw new UsageError(`--context ${opts.context}: expected a whole number of tokens`);
  const gpuMemGiB = positive('--gpu-mem', opts.gpuMem);
  const mesh = opts.mesh ? parseMesh(opts.mesh) : SINGLE_RANK;
  validateMesh(config, mesh);

  const dims = derivedDims(config);
  const params = paramCounts(config);
  const kv = kvBytesPerToken(config);
  // One decode token at this context, as the optimized decode graph computes it (absorbed MLA, W8A8).
  const decode = runPipeline(buildModel(config, 'decode', { actQuant: 'fp8' }), config).graph;
  const cost = graphCost(decode, { B: 1, S: context });
  const memory = rankMemory(config, mesh, context);
  return {
    config: config.source,
    layers: { total: config.numLayers, dense: dims.denseLayers.length, moe: dims.moeLayers.length, mtp: config.numNextnPredictLayers },
    parameters: {
      total: params.total,
      mtp: params.mtp,
      activePerToken: params.activePerToken,
      activePerTokenWithoutEmbedding: params.activePerTokenWithoutEmbedding,
      byModule: params.byModule,
      byTensor: params.byTensor,
    },
    weightBytes: weightBytes(config),
    kvCacheBytesPerToken: { absorbedLatentBf16: kv.absorbedLatent, expandedBf16: kv.expanded },
    decodeFlopsPerToken: {
      context,
      total: cost.flops,
      byOp: Object.fromEntries(Object.entries(cost.byOp).map(([op, c]) => [op, c.flops])),
    },
    mesh: {
      tp: mesh.tp,
      ep: mesh.ep,
      ranks: mesh.tp * mesh.ep,
      ...memory,
      gpuMemBytes: gpuMemGiB * GIB,
      fits: memory.totalBytesPerRank <= gpuMemGiB * GIB,
      /** Why `compile --mesh` refuses this mesh (FP8 blocks cut), or null when it compiles it. */
      compileRefusal: compileRefusal(config, mesh),
    },
  };
}
