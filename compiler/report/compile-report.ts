import type { CompiledPhase } from '../compile-model.ts';
import type { ModelConfig } from '../config/model-config.ts';
import { isMoeLayer } from '../config/model-config.ts';
import { valueTypes } from '../ir/graph.ts';
import { getOp } from '../ir/op.ts';
import type { Bindings } from '../ir/types.ts';
import { planMemory } from '../passes/plan-memory.ts';
import { kernelsPerLayer } from '../passes/schedule.ts';

/** Token counts the report sizes activation memory for. */
export const REPORT_TOKENS = [1, 64, 4096] as const;

/** Op and kernel counts of one phase: cheap, printed by every compile. */
export function phaseSummary(config: ModelConfig, p: CompiledPhase) {
  const perLayer = kernelsPerLayer(p.schedule);
  const layerKernels = (moe: boolean) => {
    const layer = [...perLayer.keys()].find((l) => isMoeLayer(config, l) === moe);
    return layer === undefined ? null : { layer, kernels: perLayer.get(layer)!.length, ops: perLayer.get(layer)!.map((k) => k.op) };
  };
  return {
    phase: p.phase,
    opsBeforeFusion: p.model.nodes.length,
    opsAfterFusion: p.run.graph.nodes.length,
    kernels: p.schedule.kernels.length,
    passes: p.run.steps.map((s) => ({ pass: s.pass, ops: s.graph.nodes.length })),
    kernelsPerDenseLayer: layerKernels(false),
    kernelsPerMoeLayer: layerKernels(true),
  };
}

/** What `dsv3c compile --report` writes for one phase: the summary plus memory plans and bytes moved. */
export function phaseReport(config: ModelConfig, p: CompiledPhase, context: number) {
  const bind = (tokens: number): Bindings => (p.phase === 'prefill' ? { T: tokens, S: tokens } : { B: tokens, S: context });
  return {
    ...phaseSummary(config, p),
    kvBytesPerTokenPerLayer: (config.kvLoraRank + config.qkRopeHeadDim) * 2,
    peakActivationBytes: Object.fromEntries(REPORT_TOKENS.map((t) => [t, planMemory(p.schedule, bind(t)).peakBytes])),
    ...(p.phase === 'decode' ? { bytesPerDecodeToken: bytesMoved(p, { B: 1, S: context }), context } : {}),
  };
}

/** Bytes the scheduled kernels move for one step, split into weights, KV cache and activations. */
export function bytesMoved(p: CompiledPhase, bindings: Bindings) {
  const types = valueTypes(p.schedule.graph);
  let weights = 0;
  let kv = 0;
  let total = 0;
  for (const k of p.schedule.kernels) {
    const c = getOp(k.op).cost(k.inputs.map((id) => types.get(id)!), k.outputs.map((o) => o.type), k.attrs, bindings);
    weights += c.weightBytes ?? 0;
    kv += c.kvBytes ?? 0;
    total += c.bytes;
  }
  return { weights, kv, activations: total - weights - kv, total };
}
