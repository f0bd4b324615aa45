import { bf16Rounded } from './bf16.ts';
import { stored, type RefContext } from './context.ts';
import { fusedOutput, linear, weightValues } from './linear.ts';
import { applyRope } from './rope.ts';
import { dot, rmsNorm, softmax, type Vec } from './vec.ts';
import { tensorOf } from './weights.ts';

/** One layer's cache: per position, the normalized c_kv [kvLoraRank] and the roped k_pe [qkRopeHeadDim]. */
export interface LayerCache {
  cKv: number[][];
  kPe: number[][];
}

/**
 * Multi-head latent attention. `xs` are the new rows' input-norm outputs (unrounded) at positions
 * start, start+1, …; `past` holds positions 0 .. start−1. Returns the o_proj output of each new
 * row (as stored) and the cache with the new positions appended (`past` is not touched).
 *
 * The plain form expands every cached c_kv by kv_b_proj into per-head keys and values. With
 * bf16 activations, decode runs the absorbed form instead, as the decode plan does: W_UK folded
 * into the query, attention over the latent c_kv, W_UV applied after (the same product, rounded
 * at other places).
 */
export function mlaAttention(ctx: RefContext, layer: number, xs: readonly Vec[], start: number, past: LayerCache): { out: Vec[]; cache: LayerCache } {
  const c = ctx.config;
  const p = `model.layers.${layer}.self_attn`;
  if (past.cKv.length !== start || past.kPe.length !== start) {
    throw new Error(`reference: layer ${layer} cache holds ${past.cKv.length} positions, expected ${start}`);
  }

  // kv_a(x) = [c_kv (kvLoraRank) | k_pe (rope)]; the norm is on c_kv only, k_pe is one head shared by all.
  const kvNorm = tensorOf(ctx.w, `${p}.kv_a_layernorm.weight`, [c.kvLoraRank]).data;
  const cache: LayerCache = { cKv: [...past.cKv], kPe: [...past.kPe] };
  const queries = xs.map((x, t) => {
    const input = fusedOutput(ctx, x);
    const kv = stored(ctx, linear(ctx, `${p}.kv_a_proj_with_mqa`, input));
    const kPe = kv.slice(c.kvLoraRank);
    applyRope(kPe, 0, start + t, ctx.rope);
    cache.cKv.push(Array.from(stored(ctx, rmsNorm(kv.subarray(0, c.kvLoraRank), kvNorm, c.rmsNormEps))));
    cache.kPe.push(Array.from(stored(ctx, kPe)));
    return query(ctx, p, input, start + t);
  });
  const attend = ctx.activations === 'bf16' && ctx.phase === 'decode' ? absorbedAttention : plainAttention;
  const heads = attend(ctx, p, queries, start, cache);
  return { out: heads.map((h) => stored(ctx, linear(ctx, `${p}.o_proj`, h))), cache };
}

/** Per row, the heads' attention outputs [heads, v] as stored for o_proj. */
type Attend = (ctx: RefContext, p: string, queries: readonly Vec[], start: number, cache: LayerCache) => Vec[];

const plainAttention: Attend = (ctx, p, queries, start, cache) => {
  const c = ctx.config;
  const nope = c.qkNopeHeadDim;
  const qkHead = nope + c.qkRopeHeadDim;
  const kvHead = nope + c.vHeadDim;
  // Per position j: kv_b(c_kv[j]) as [heads, nope + v] → head h's k_nope at h·kvHead, its v right after.
  // kv_b_proj keeps unquantized inputs in W8A8 too: decode absorbs it into the query and the
  // output (DeepSeek's absorb mode multiplies by the dequantized weight), so quantizing the latent
  // here would make prefill and decode two different models.
  const kvb = cache.cKv.map((ck) => stored(ctx, linear(ctx, `${p}.kv_b_proj`, ck, 'none')));
  return queries.map((q, t) => {
    const pos = start + t;
    const attn = new Float64Array(c.numHeads * c.vHeadDim); // [heads, v]
    for (let h = 0; h < c.numHeads; h++) {
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
    return stored(ctx, attn);
  });
};

/**
 * q_lat[h] = q_nope[h]·W_UK[h] ([kvLoraRank]), scores over the cached c_kv and k_pe, the softmax
 * average of c_kv, then W_UV[h]: DeepSeek's absorb mode. W_UK and W_UV are kv_b_proj's dequantized
 * rows rounded once to bf16, as the loader's kv-b-split makes them; each step's output is stored.
 */
const absorbedAttention: Attend = (ctx, p, queries, start, cache) => {
  const c = ctx.config;
  const C = c.kvLoraRank;
  const nope = c.qkNopeHeadDim;
  const R = c.qkRopeHeadDim;
  const qkHead = nope + R;
  const kvHead = nope + c.vHeadDim;
  const kvb = weightValues(ctx, `${p}.kv_b_proj`); // [heads·(nope + v), C]
  const wkv = bf16Rounded(kvb.data);
  return queries.map((q, t) => {
    const pos = start + t;
    const attn = new Float64Array(c.numHeads * c.vHeadDim);
    for (let h = 0; h < c.numHeads; h++) {
      const qLat = new Float64Array(C);
      for (let i = 0; i < C; i++) {
        let sum = 0;
        for (let k = 0; k < nope; k++) sum += q[h * qkHead + k] * wkv[(h * kvHead + k) * C + i];
        qLat[i] = sum;
      }
      const ql = stored(ctx, qLat);
      const scores: number[] = [];
      for (let j = 0; j <= pos; j++) scores.push((dot(ql, 0, cache.cKv[j], 0, C) + dot(q, h * qkHead + nope, cache.kPe[j], 0, R)) * ctx.softmaxScale);
      const lat = new Float64Array(C);
      softmax(scores).forEach((prob, j) => {
        for (let i = 0; i < C; i++) lat[i] += prob * cache.cKv[j][i];
      });
      const latent = stored(ctx, lat);
      for (let d = 0; d < c.vHeadDim; d++) attn[h * c.vHeadDim + d] = dot(latent, 0, wkv, (h * kvHead + nope + d) * C, C);
    }
    return stored(ctx, attn);
  });
};

/**
 * q = q_b(q_a_layernorm(q_a(x))), or q_proj(x) without a q LoRA; [heads, nope + rope], the rope
 * part roped at `position`. Each step's output is stored (rounding q_nope again changes nothing).
 */
function query(ctx: RefContext, p: string, input: Vec, position: number): Vec {
  const c = ctx.config;
  let q: Vec;
  if (c.qLoraRank === null) {
    q = linear(ctx, `${p}.q_proj`, input);
  } else {
    const qNorm = tensorOf(ctx.w, `${p}.q_a_layernorm.weight`, [c.qLoraRank]).data;
    const qa = stored(ctx, linear(ctx, `${p}.q_a_proj`, input));
    q = linear(ctx, `${p}.q_b_proj`, fusedOutput(ctx, rmsNorm(qa, qNorm, c.rmsNormEps)));
  }
  const roped = Float64Array.from(stored(ctx, q));
  const qkHead = c.qkNopeHeadDim + c.qkRopeHeadDim;
  for (let h = 0; h < c.numHeads; h++) applyRope(roped, h * qkHead + c.qkNopeHeadDim, position, ctx.rope);
  return stored(ctx, roped);
}
