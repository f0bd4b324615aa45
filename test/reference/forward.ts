import type { ModelConfig } from '../../compiler/config/model-config.ts';
import type { LayerCache } from './attention.ts';
import { mlaAttention } from './attention.ts';
import { makeContext, stored, storedF32, type Activations, type Phase, type RefContext } from './context.ts';
import { feedForward } from './mlp.ts';
import { add, matVec, rmsNorm, type Vec } from './vec.ts';
import { tensorOf, type RefWeights } from './weights.ts';

/**
 * The independent float64 forward of DeepseekV3ForCausalLM, straight from REFERENCE.md: FP8
 * weights dequantized exactly, activations never rounded unless asked (RefOptions.activations).
 * The MTP layers are not run.
 */

/** Per main layer: per cached position, normalized c_kv (kvLoraRank) and roped k_pe (qkRopeHeadDim). */
export interface RefCache {
  layers: LayerCache[];
}

/**
 * actQuant 'fp8' = W8A8: before every FP8 linear (the config must be quantized; otherwise nothing
 * changes) the input is quantized per 1×128 group, except kv_b_proj's: c_kv stays unquantized,
 * as decode's absorbed form multiplies it by the dequantized weight (see attention.ts).
 */
export interface RefOptions {
  actQuant?: 'none' | 'fp8';
  /** 'float64' (default) or 'bf16': stored where the compiled plans store bf16 (context.ts). */
  activations?: Activations;
}

function context(config: ModelConfig, w: RefWeights, opts: RefOptions | undefined, phase: Phase): RefContext {
  return makeContext(config, w, opts?.actQuant ?? 'none', opts?.activations ?? 'float64', phase);
}

export function referencePrefill(config: ModelConfig, w: RefWeights, tokens: number[], opts?: RefOptions): { logits: number[][]; cache: RefCache } {
  if (tokens.length === 0) throw new Error('reference: prefill needs at least one token');
  const empty: RefCache = { layers: Array.from({ length: config.numLayers }, () => ({ cKv: [], kPe: [] })) };
  const r = run(context(config, w, opts, 'prefill'), tokens, 0, empty);
  return { logits: r.logits.map((l) => Array.from(l)), cache: r.cache };
}

/** position = number of cached positions; returns the cache with the new position appended (the input is not changed). */
export function referenceDecode(config: ModelConfig, w: RefWeights, cache: RefCache, token: number, position: number, opts?: RefOptions): { logits: number[]; cache: RefCache } {
  if (cache.layers.length !== config.numLayers) {
    throw new Error(`reference: cache has ${cache.layers.length} layers, the model ${config.numLayers}`);
  }
  const r = run(context(config, w, opts, 'decode'), [token], position, cache);
  return { logits: Array.from(r.logits[0]), cache: r.cache };
}

/** Runs `tokens` at positions start, start+1, … over `cache` (positions 0 .. start−1). */
function run(ctx: RefContext, tokens: readonly number[], start: number, cache: RefCache): { logits: Vec[]; cache: RefCache } {
  const c = ctx.config;
  const H = c.hiddenSize;
  const embed = tensorOf(ctx.w, 'model.embed_tokens.weight', [c.vocabSize, H]).data;
  let xs: Vec[] = tokens.map((tok) => {
    if (!Number.isInteger(tok) || tok < 0 || tok >= c.vocabSize) throw new Error(`reference: token ${tok} is outside [0, ${c.vocabSize})`);
    return embed.slice(tok * H, (tok + 1) * H);
  });

  // The residual add is fused into the next norm: it normalizes the unrounded sum and stores the
  // sum as the new residual. `pending` is the last feed-forward's output, not yet added.
  let pending: Vec[] | null = null;
  const addPending = (): Vec[] => {
    const sums = pending ? xs.map((x, t) => add(x, pending![t])) : xs;
    xs = sums.map((s) => stored(ctx, s));
    return sums;
  };
  const layers: LayerCache[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const inNorm = tensorOf(ctx.w, `${p}.input_layernorm.weight`, [H]).data;
    const postNorm = tensorOf(ctx.w, `${p}.post_attention_layernorm.weight`, [H]).data;
    const attn = mlaAttention(ctx, l, addPending().map((x) => rmsNorm(x, inNorm, c.rmsNormEps)), start, cache.layers[l]);
    layers.push(attn.cache);
    pending = attn.out;
    const hs = addPending();
    pending = hs.map((h) => feedForward(ctx, l, rmsNorm(h, postNorm, c.rmsNormEps)));
  }

  const finalNorm = tensorOf(ctx.w, 'model.norm.weight', [H]).data;
  const head = tensorOf(ctx.w, c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight', [c.vocabSize, H]).data;
  const logits = addPending().map((x) => matVec(head, c.vocabSize, H, stored(ctx, rmsNorm(x, finalNorm, c.rmsNormEps))).map((v) => storedF32(ctx, v)));
  return { logits, cache: { layers } };
}
