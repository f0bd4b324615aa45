import { isMoeLayer } from '../../compiler/config/model-config.ts';
import type { RefContext } from './context.ts';
import { linear } from './linear.ts';
import { routeParams, routeToken } from './routing.ts';
import { matVec, sigmoid, silu, type Vec } from './vec.ts';
import { tensorOf } from './weights.ts';

/** The layer's feed-forward on one post-attention-normed row: dense MLP or MoE. */
export function feedForward(ctx: RefContext, layer: number, x: Vec): Vec {
  const p = `model.layers.${layer}.mlp`;
  return isMoeLayer(ctx.config, layer) ? moe(ctx, p, x) : swiglu(ctx, p, x);
}

/** down(silu(gate x) ⊙ up x); `p` names the module holding gate_proj, up_proj, down_proj. */
export function swiglu(ctx: RefContext, p: string, x: Vec): Vec {
  const g = linear(ctx, `${p}.gate_proj`, x);
  const u = linear(ctx, `${p}.up_proj`, x);
  const h = g.map((gi, i) => silu(gi) * u[i]);
  return linear(ctx, `${p}.down_proj`, h);
}

/** Σ_k w_k · expert_k(x) over the routed experts, plus the shared experts when there are any. */
function moe(ctx: RefContext, p: string, x: Vec): Vec {
  const c = ctx.config;
  const E = c.nRoutedExperts;
  const gate = tensorOf(ctx.w, `${p}.gate.weight`, [E, c.hiddenSize]).data;
  const bias = tensorOf(ctx.w, `${p}.gate.e_score_correction_bias`, [E]).data;
  const scores = matVec(gate, E, c.hiddenSize, x).map(sigmoid);
  const { idx, weights } = routeToken(scores, bias, routeParams(c));

  const out = c.nSharedExperts > 0 ? swiglu(ctx, `${p}.shared_experts`, x) : new Float64Array(c.hiddenSize);
  idx.forEach((e, k) => {
    const y = swiglu(ctx, `${p}.experts.${e}`, x);
    for (let i = 0; i < y.length; i++) out[i] += weights[k] * y[i];
  });
  return out;
}
