import { isMoeLayer } from '../../compiler/config/model-config.ts';
import { stored, storedF32, type RefContext } from './context.ts';
import { fusedOutput, linear } from './linear.ts';
import { routeParams, routeToken } from './routing.ts';
import { add, matVec, sigmoid, silu, type Vec } from './vec.ts';
import { tensorOf } from './weights.ts';

/** The layer's feed-forward on one post-attention-normed row (unrounded): dense MLP or MoE; the output as stored. */
export function feedForward(ctx: RefContext, layer: number, x: Vec): Vec {
  const p = `model.layers.${layer}.mlp`;
  return isMoeLayer(ctx.config, layer) ? moe(ctx, p, x) : stored(ctx, swiglu(ctx, p, fusedOutput(ctx, x)));
}

/** down(silu(gate x) ⊙ up x) on what gate and up read; `p` names the module holding gate_proj, up_proj, down_proj. */
function swiglu(ctx: RefContext, p: string, input: Vec): Vec {
  const g = linear(ctx, `${p}.gate_proj`, input);
  const u = linear(ctx, `${p}.up_proj`, input);
  const h = g.map((gi, i) => silu(gi) * u[i]);
  return linear(ctx, `${p}.down_proj`, fusedOutput(ctx, h));
}

/**
 * Σ_k w_k · expert_k(x) over the routed experts, plus the shared experts when there are any. The
 * router reads the stored norm output; each expert's output is stored before the weighted sum.
 */
function moe(ctx: RefContext, p: string, x: Vec): Vec {
  const c = ctx.config;
  const E = c.nRoutedExperts;
  const gate = tensorOf(ctx.w, `${p}.gate.weight`, [E, c.hiddenSize]).data;
  const bias = tensorOf(ctx.w, `${p}.gate.e_score_correction_bias`, [E]).data;
  const scores = matVec(gate, E, c.hiddenSize, stored(ctx, x)).map(sigmoid);
  const route = routeToken(scores, bias, routeParams(c));
  const weights = route.weights.map((v) => storedF32(ctx, v));

  const input = fusedOutput(ctx, x);
  const out = new Float64Array(c.hiddenSize);
  route.idx.forEach((e, k) => {
    const y = stored(ctx, swiglu(ctx, `${p}.experts.${e}`, input));
    for (let i = 0; i < y.length; i++) out[i] += weights[k] * y[i];
  });
  if (c.nSharedExperts === 0) return stored(ctx, out);
  const shared = stored(ctx, swiglu(ctx, `${p}.shared_experts`, input));
  // One shared expert joins the routed sum (the plans run it as one more expert, weight 1);
  // several are a separate MLP whose output is added to the stored routed sum.
  return c.nSharedExperts === 1 ? stored(ctx, add(out, shared)) : stored(ctx, add(stored(ctx, out), shared));
}
