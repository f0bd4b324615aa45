import type { ModelConfig } from '../config/model-config.ts';
import type { Attrs, Node, Value } from '../ir/graph.ts';
import { expertOperandCount } from '../ir/ops/moe.ts';
import type { NameList } from '../ir/name-runs.ts';
import { canonicalNames, firstName, interleaveNames, nameCount } from '../ir/name-runs.ts';
import { gemmAttrs } from '../ir/ops/gemm.ts';
import type { RewriteContext } from './rewrite.ts';
import { activationSource, gcd, linearWeightInputs, producedBy, usersOf, weightPrefix } from './match.ts';
import type { Pass } from './pass.ts';
import { rewriteGraph } from './rewrite.ts';

/**
 * lower-moe — requires: the model graph's matmul → sigmoid → topk_route → moe_experts, and its
 * shared expert as down(silu(gate(x)) · up(x)) added to the routed sum.
 *
 *   moe_experts(x, topk_route(sigmoid(x·gateᵀ), bias)) + shared(x)
 *     → moe_combine(grouped_gemm_down(grouped_gemm_gate_up_swiglu(moe_dispatch(moe_route(x), x))))
 *
 * A single shared expert rides in the grouped GEMMs as expert E, picked by every token with
 * weight 1, which saves its two GEMM launches; several shared experts keep their own path.
 * Runs before fuse-fp8-linear so that it sees the shared expert's plain linears; it emits the
 * grouped GEMMs in the model's activation mode (W8A8 quantizes x once, before dispatch).
 */
export const lowerMoe: Pass = {
  name: 'lower-moe',
  requires: [],
  doc: 'routing → one route kernel; experts → dispatch, grouped SwiGLU GEMM, grouped down GEMM, combine',
  run(graph, config) {
    return rewriteGraph(graph, (node, ctx) => (node.op === 'moe_experts' ? lower(node, ctx, config) : undefined));
  },
};

/** The projections, in the order of moe_experts' expert operands. */
const [GATE, UP, DOWN] = [0, 1, 2];

interface SharedExpert {
  readonly add: Node; // add(routed, shared) that the combine replaces
  readonly gate: string[];
  readonly up: string[];
  readonly down: string[];
}

/** The shared expert feeding add(routed, ·), when it is a plain SwiGLU MLP of the same x. */
function findSharedExpert(node: Node, ctx: RewriteContext): SharedExpert | undefined {
  const [add] = usersOf(ctx, node.outputs[0].id, 'add');
  if (!add || ctx.uses(node.outputs[0].id) !== 1) return undefined;
  const other = add.inputs[0] === node.outputs[0].id ? add.inputs[1] : add.inputs[0];
  const down = producedBy(ctx, other, 'matmul');
  const mul = down && producedBy(ctx, activationSource(ctx, down.inputs[0]), 'mul');
  const silu = mul && producedBy(ctx, mul.inputs[0], 'silu');
  const gate = silu && producedBy(ctx, silu.inputs[0], 'matmul');
  const up = mul && producedBy(ctx, mul.inputs[1], 'matmul');
  const x = node.inputs[0];
  if (!down || !gate || !up || activationSource(ctx, gate.inputs[0]) !== x || activationSource(ctx, up.inputs[0]) !== x) return undefined;
  const [g, u, d] = [gate, up, down].map((m) => linearWeightInputs(ctx, m.inputs[1]));
  if (!g || !u || !d) return undefined;
  return { add, gate: g.names, up: u.names, down: d.names };
}

function lower(node: Node, ctx: RewriteContext, config: ModelConfig): (Value | null)[] | undefined {
  const [xId, idsId, weightsId] = node.inputs;
  // On an expert-parallel mesh the ids reach the experts through local_ids (this rank's experts).
  const localIds = producedBy(ctx, idsId, 'local_ids');
  const route = producedBy(ctx, localIds ? localIds.inputs[0] : idsId, 'topk_route');
  const sigmoid = route && producedBy(ctx, route.inputs[0], 'sigmoid');
  const gateMm = sigmoid && producedBy(ctx, sigmoid.inputs[0], 'matmul');
  if (!route || !gateMm || route.outputs[1].id !== weightsId) return undefined;

  const { b } = ctx;
  const E = node.attrs.numExperts as number;
  const quantized = node.attrs.quantized as boolean;
  // The model's stacks are recipes over the per-expert checkpoint tensors: their sources, per stack
  // (on an expert-parallel mesh, every expert's: each rank stacks its part, recipes.ts rankSources).
  const epRanks = ctx.recipe(node.inputs[3])?.attrs.epRanks;
  const ep: Attrs = typeof epRanks === 'number' ? { epRanks } : {};
  const listed = E * (typeof epRanks === 'number' ? epRanks : 1);
  const stackSources = node.inputs.slice(3).map((id) => {
    const sources = ctx.recipe(id)?.sources;
    if (!sources || nameCount(sources) !== listed) throw new Error(`lower-moe: ${node.scope}: expert operand ${ctx.inputName(id)} is not a stack of ${listed} checkpoint tensors`);
    return sources;
  });
  if (stackSources.length !== expertOperandCount(quantized)) return undefined;
  const [H, I] = [config.hiddenSize, config.moeIntermediateSize];
  // A shared expert rides along only where it has the routed experts' shape: not on an expert-parallel
  // mesh, where its intermediate size is split over every rank (tensor-parallel.ts).
  const shared = config.nSharedExperts === 1 && !localIds ? findSharedExpert(node, ctx) : undefined;

  // A projection's checkpoint names over the experts, the shared one last; part 0 weights, 1 scales.
  const perPart = quantized ? 2 : 1;
  const sharedNames = shared && [shared.gate, shared.up, shared.down];
  const names = (proj: number, part: number): NameList => {
    const routed = stackSources[proj * perPart + part];
    return sharedNames ? canonicalNames([...routed, sharedNames[proj][part]]) : routed;
  };
  const experts = E + (shared ? 1 : 0);

  const p = weightPrefix(firstName(stackSources[0])!).replace(/\.experts\.0\.gate_proj$/, '');
  const blockN = node.attrs.blockN as number;
  const blockK = node.attrs.blockK as number;
  const group = gcd(I, quantized ? blockN : 128); // gate/up rows interleave in groups that never straddle a scale block
  const gateUp = b.input(`${p}.experts.gate_up.weight`, 'weight', quantized ? 'fp8e4m3' : 'bf16', [experts, 2 * I, H], {
    kind: 'stack', sources: interleaveNames(names(GATE, 0), names(UP, 0)), attrs: { each: 'interleave-rows', arity: 2, group, ...ep },
  });
  const down = b.input(`${p}.experts.down.weight`, 'weight', quantized ? 'fp8e4m3' : 'bf16', [experts, H, I], {
    kind: 'stack', sources: names(DOWN, 0), attrs: { ...ep },
  });
  const scales: Value[] = [];
  if (quantized) {
    const kbH = Math.ceil(H / blockK);
    scales.push(
      b.input(`${p}.experts.gate_up.weight_scale_inv`, 'weight', 'f32', [experts, 2 * Math.ceil(I / group), kbH], {
        kind: 'stack', sources: interleaveNames(names(GATE, 1), names(UP, 1)), attrs: { each: 'interleave-row-scales', arity: 2, group, blockN, rows: I, ...ep },
      }),
      b.input(`${p}.experts.down.weight_scale_inv`, 'weight', 'f32', [experts, Math.ceil(H / blockN), Math.ceil(I / blockK)], {
        kind: 'stack', sources: names(DOWN, 1), attrs: { ...ep },
      }),
    );
  }

  const [routed, weights] = b.add('moe_route', [ctx.map(gateMm.inputs[0]), ctx.map(gateMm.inputs[1]), ctx.map(route.inputs[1])], route.attrs);
  const ids = localIds ? b.add1('local_ids', [routed, ctx.map(localIds.inputs[1])], localIds.attrs) : routed;
  const w8a8 = node.attrs.actQuant === true;
  const x = ctx.map(xId);
  const payload = w8a8 ? b.add('act_quant_fp8', [x], { block: blockK }) : [x];
  const dispatchAttrs = { numExperts: E, sharedExperts: shared ? 1 : 0 };
  const [rowExpert, rowSlot, ...rows] = b.add('moe_dispatch', [ids, ...payload], dispatchAttrs);
  const base = { actQuant: w8a8, scaled: quantized, blockK, quantBlock: blockK };
  const hidden = b.add('grouped_gemm', [...rows, rowExpert, gateUp, ...scales.slice(0, 1)], gemmAttrs({ ...base, blockN: quantized ? group : 0, epilogue: 'swiglu', group, outQuant: w8a8 }));
  const [y] = b.add('grouped_gemm', [...hidden, rowExpert, down, ...scales.slice(1)], gemmAttrs({ ...base, blockN, quantBlock: 0 }));
  const combined = b.add1('moe_combine', [y, rowSlot, weights], dispatchAttrs);
  if (shared) ctx.replace(shared.add.outputs[0].id, combined);
  return [combined];
}
