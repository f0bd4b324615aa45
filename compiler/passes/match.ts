import type { Node } from '../ir/graph.ts';
import type { RewriteContext } from './rewrite.ts';

/** Small pattern helpers over the old graph a rewrite rule sees. */

/** The node that produced `id` when its op is `op`. */
export function producedBy(ctx: RewriteContext, id: number, op: string): Node | undefined {
  const p = ctx.producer(id);
  return p?.op === op ? p : undefined;
}

/** The users of `id` whose op is `op`. */
export function usersOf(ctx: RewriteContext, id: number, op: string): Node[] {
  return ctx.users(id).filter((n) => n.op === op);
}

/**
 * The checkpoint operands of a linear's weight value: [w] for a plain weight input, [w, scale] for
 * dequant_fp8(w, scale) of two inputs; undefined for anything else.
 */
export function linearWeightInputs(ctx: RewriteContext, weightId: number): { ids: number[]; names: string[]; blockN?: number; blockK?: number } | undefined {
  const name = ctx.inputName(weightId);
  if (name !== undefined) return { ids: [weightId], names: [name] };
  const dq = producedBy(ctx, weightId, 'dequant_fp8');
  if (!dq) return undefined;
  const names = dq.inputs.map((id) => ctx.inputName(id));
  if (names.some((n) => n === undefined)) return undefined;
  return { ids: [...dq.inputs], names: names as string[], blockN: dq.attrs.blockN as number, blockK: dq.attrs.blockK as number };
}

/** The prefix of a checkpoint weight name: "model.layers.3.mlp.gate_proj.weight" → "model.layers.3.mlp.gate_proj". */
export function weightPrefix(name: string): string {
  return name.replace(/\.weight$/, '');
}

export function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The value a linear quantizes under W8A8: x for dequant_act_fp8(act_quant_fp8(x)), else the value itself. */
export function activationSource(ctx: RewriteContext, id: number): number {
  const fake = producedBy(ctx, id, 'dequant_act_fp8');
  const quant = fake && producedBy(ctx, fake.inputs[0], 'act_quant_fp8');
  return quant ? quant.inputs[0] : id;
}
