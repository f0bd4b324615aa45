import type { Node, Value } from '../ir/graph.ts';
import { gemmAttrs } from '../ir/ops/gemm.ts';
import { gcd, linearWeightInputs, producedBy, usersOf, weightPrefix } from './match.ts';
import type { Pass } from './pass.ts';
import type { RewriteContext } from './rewrite.ts';
import { rewriteGraph } from './rewrite.ts';

/**
 * fuse-swiglu — requires: gate and up as two GEMMs of one input: block-scaled `gemm`s (after
 * fuse-fp8-linear) or plain bf16 matmuls.
 *
 *   mul(silu(gemm(x, W_gate)), gemm(x, W_up))  → gemm(x, interleave(W_gate, W_up)) {epilogue: swiglu}
 *   act_quant_fp8(that)                        → the same gemm {outQuant}: down_proj's input leaves quantized
 *
 * Rows interleave in groups of gcd(intermediate, block_n), so each group keeps a single scale and
 * the epilogue finds gate and up of one output column in the same tile.
 */
export const fuseSwiglu: Pass = {
  name: 'fuse-swiglu',
  requires: [],
  doc: 'gate_proj + up_proj + silu·mul → one GEMM over row-interleaved weights with a SwiGLU epilogue',
  run(graph) {
    return rewriteGraph(graph, (node, ctx) => (node.op === 'mul' ? fuse(node, ctx) : undefined));
  },
};

function fuse(mul: Node, ctx: RewriteContext): (Value | null)[] | undefined {
  const silu = producedBy(ctx, mul.inputs[0], 'silu');
  const gate = silu && ctx.producer(silu.inputs[0]);
  const up = ctx.producer(mul.inputs[1]);
  if (!gate || !up || gate.op !== up.op || !['gemm', 'matmul'].includes(gate.op)) return undefined;
  const { b } = ctx;
  const I = mul.outputs[0].type.shape.at(-1) as number;

  if (gate.op === 'matmul') {
    const [g, u] = [gate, up].map((m) => linearWeightInputs(ctx, m.inputs[1]));
    if (gate.inputs[0] !== up.inputs[0] || g?.names.length !== 1 || u?.names.length !== 1) return undefined;
    const group = gcd(I, 128);
    const w = interleaved(ctx, g.names[0], u.names[0], 'bf16', group);
    return [b.add1('gemm', [ctx.map(gate.inputs[0]), w], gemmAttrs({ epilogue: 'swiglu', group }))];
  }

  // Both gemms read the same activation operands with the same weight form.
  const na = gate.attrs.actQuant ? 2 : 1;
  const sameInput = gate.inputs.slice(0, na).every((id, i) => id === up.inputs[i]);
  if (!sameInput || JSON.stringify(gate.attrs) !== JSON.stringify(up.attrs) || gate.attrs.epilogue !== 'none' || !gate.attrs.scaled) return undefined;
  const [gw, gs, uw, us] = [gate.inputs[na], gate.inputs[na + 1], up.inputs[na], up.inputs[na + 1]].map((id) => ctx.inputName(id));
  if (!gw || !gs || !uw || !us) return undefined;
  const blockN = gate.attrs.blockN as number;
  const group = gcd(I, blockN);
  const w = interleaved(ctx, gw, uw, 'fp8e4m3', group);
  const K = ctx.map(gate.inputs[na]).type.shape[1] as number;
  const s = b.input(`${weightPrefix(gw).replace(/gate_proj$/, 'gate_up_proj')}.weight_scale_inv`, 'weight', 'f32', [2 * Math.ceil(I / group), Math.ceil(K / (gate.attrs.blockK as number))], {
    kind: 'interleave-row-scales', sources: [gs, us], attrs: { group, blockN, rows: I },
  });
  // When down_proj reads this output only through its activation quant, the epilogue quantizes.
  const quants = usersOf(ctx, mul.outputs[0].id, 'act_quant_fp8');
  const outQuant = quants.length > 0 && quants.length === ctx.uses(mul.outputs[0].id);
  const attrs = gemmAttrs({ ...gate.attrs, blockN: group, epilogue: 'swiglu', group, outQuant, quantBlock: outQuant ? (quants[0].attrs.block as number) : 0 });
  const outs = b.add('gemm', [...gate.inputs.slice(0, na).map((id) => ctx.map(id)), w, s], attrs);
  if (!outQuant) return outs;
  for (const q of quants) q.outputs.forEach((o, i) => ctx.replace(o.id, outs[i]));
  return [null];
}

/** The derived weight with gate and up rows interleaved in groups of `group`. */
function interleaved(ctx: RewriteContext, gateName: string, upName: string, dtype: 'bf16' | 'fp8e4m3', group: number): Value {
  const g = ctx.old.inputs.find((i) => i.name === gateName)!.value.type.shape as number[];
  return ctx.b.input(`${weightPrefix(gateName).replace(/gate_proj$/, 'gate_up_proj')}.weight`, 'weight', dtype, [2 * g[0], g[1]], {
    kind: 'interleave-rows', sources: [gateName, upName], attrs: { group },
  });
}
