import type { RefContext } from './context.ts';
import { linear } from './linear.ts';
import { applyRope } from './rope.ts';
import { dot, rmsNorm, softmax, type Vec } from './vec.ts';
import { tensorOf } from './weights.ts';

/** One layer's cache: per position, the normalized c_kv [kvLoraRank] and the roped k_pe [qkRopeHeadDim]. */
export interface LayerCache {
  cKv: number[][];
  kPe: number[][];
}

/**
 * Multi-head latent attention in its plain (non-absorbed) form: every cached c_kv is expanded by
 * kv_b_proj into per-head keys and values. `xs` are the new rows (already input-normed) at
 * positions start, start+1, …; `past` holds positions 0 .. start−1. Returns the o_proj output of
 * each new row and the cache with the new positions appended (`past` is not touched).
 */
export function mlaAttention(ctx: RefContext, layer: number, xs: readonly Vec[], start: number, past: LayerCache): { out: Vec[]; cache: LayerCache } {
  const c = ctx.config;
  const p = `model.layers.${layer}.self_attn`;
  const heads = c.numHeads;
  const nope = c.qkNopeHeadDim;
  const qkHead = nope + c.qkRopeHeadDim;
  const kvHead = nope + c.vHeadDim;
  if (past.cKv.length !== start || past.kPe.length !== start) {
    throw new Error(`reference: layer ${layer} cache holds ${past.cKv.length} positions, expected ${start}`);
  }

  // kv_a(x) = [c_kv (kvLoraRank) | k_pe (rope)]; the norm is on c_kv only, k_pe is one head shared by all.
  const kvNorm = tensorOf(ctx.w, `${p}.kv_a_layernorm.weight`, [c.kvLoraRank]).data;
  const cache: LayerCache = { cKv: [...past.cKv], kPe: [...past.kPe] };
  xs.forEach((x, t) => {
    const kv = linear(ctx, `${p}.kv_a_proj_with_mqa`, x);
    const kPe = kv.slice(c.kvLoraRank);
    applyRope(kPe, 0, start + t, ctx.rope);
    cache.cKv.push(Array.from(rmsNorm(kv.subarray(0, c.kvLoraRank), kvNorm, c.rmsNormEps)));
    cache.kPe.push(Array.from(kPe));
  });

  // Per position j: kv_b(c_kv[j]) as [heads, nope + v] → head h's k_nope at h·kvHead, its v right after.
  // kv_b_proj keeps unquantized inputs in W8A8 too: decode absorbs it into the query and the
  // output (DeepSeek's absorb mode multiplies by the dequantized weight), so quantizing the latent
  // here would make prefill and decode two different models.
  const kvb = cache.cKv.map((ck) => linear(ctx, `${p}.kv_b_proj`, ck, 'none'));

  const out = xs.map((x, t) => {
    const pos = start + t;
    const q = queries(ctx, p, x); // [heads, nope + rope]
    for (let h = 0; h < heads; h++) applyRope(q, h * qkHead + nope, pos, ctx.rope);
    const attn = new Float64Array(heads * c.vHeadDim); // [heads, v]
    for (let h = 0; h < heads; h++) {
      const scores: number[] = [];
      for (let j = 0; j <= pos; j++) {
        // causal: only positions up to the query's own
        const s = dot(q, h * qkHead, kvb[j], h * kvHead, nope) + dot(q, h * qkHead + nope, cache.kPe[j], 0, c.qkRopeHeadDim);
        scores.push(s * ctx.softmaxScale);
      }
      softmax(scores).forEach((prob, j) => {
        for (let d = 0; d < c.vHeadDim; d++) attn[h * c.vHeadDim + d] += prob * kvb[j][h * kvHead + nope + d];
      });
    }
    return linear(ctx, `${p}.o_proj`, attn);
  });
  return { out, cache };
}

/** q = q_b(q_a_layernorm(q_a(x))), or q_proj(x) without a q LoRA; [heads, nope + rope]. */
function queries(ctx: RefContext, p: string, x: Vec): Vec {
  const c = ctx.config;
  if (c.qLoraRank === null) return linear(ctx, `${p}.q_proj`, x);
  const qNorm = tensorOf(ctx.w, `${p}.q_a_layernorm.weight`, [c.qLoraRank]).data;
  return linear(ctx, `${p}.q_b_proj`, rmsNorm(linear(ctx, `${p}.q_a_proj`, x), qNorm, c.rmsNormEps));
}
