import type { Mesh } from '../config/mesh.ts';
import { rankConfig, SINGLE_RANK } from '../config/mesh.ts';
import type { ModelConfig } from '../config/model-config.ts';
import { isMoeLayer } from '../config/model-config.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { Attrs, Graph, Phase, Value } from '../ir/graph.ts';
import { nameRun } from '../ir/name-runs.ts';
import '../ir/ops/index.ts';
import type { Dim } from '../ir/types.ts';
import { ropeAttrs, softmaxScale } from './rope-attrs.ts';

/**
 * The DeepseekV3ForCausalLM forward of one step as an IR graph, before any optimization: every
 * linear is dequant + matmul, norms, activations and residual adds are separate ops, attention is
 * the expanded (non-absorbed) MLA. Passes turn it into fused kernels.
 *
 * prefill: one sequence, T new tokens at `positions`, slot table [1, S] with S ≥ T.
 * decode:  B sequences, one new token each at its own position, slot table [B, S].
 * The KV cache is paged: per layer two pools [P, ·] shared by all sequences. Both phases write the
 * new latents at pool rows `slots` and attend to positions ≤ their own, position j of sequence b
 * being pool row slot_table[b, j], so a prefill can also continue a sequence (chunked prefill).
 *
 * Inputs: `tokens`, `positions`, `slots` i32[N], `slot_table` i32[Bc, S], per layer the pools
 * `cache.L.c_kv` [P, kv_lora] and `cache.L.k_pe` [P, rope], and every checkpoint weight under its
 * checkpoint name. Outputs: `logits` f32[N, vocab] and the updated pools.
 *
 * With a mesh the graph is the one every rank runs (tensor-parallel.ts): 1/tp of the heads and
 * intermediate sizes, the checkpoint's sliced tensors under their own names, an all_reduce after
 * the vocabulary-parallel embedding and each row-parallel result (o_proj and a dense MLP over the
 * tp ranks, the MoE layer over every rank) and an all_gather of the vocabulary-parallel head's
 * logits; with ep > 1, E/ep experts a
 * rank (local_ids, from the step input `ep_rank`) and the shared experts split over every rank.
 */
export function buildModel(config: ModelConfig, phase: Phase, options: ModelOptions = DEFAULT_MODEL_OPTIONS): Graph {
  return new ModelBuilder(config, phase, options).build();
}

/** Choices that change the model's numerics, so they are part of the graph, not of a pass. */
export interface ModelOptions {
  /**
   * 'fp8' (W8A8, DeepSeek's fp8 path): the input of every FP8 linear is quantized per 1×blockK
   * group, s = max(amax, 1e-4)/448, except kv_b_proj's, which decode absorbs into the query and
   * output in bf16. 'none' (W8A16, DeepSeek's bf16 path): activations stay bf16.
   */
  readonly actQuant: 'fp8' | 'none';
  /** The ranks the model is split over (default one); validateCompileMesh says which it can be. */
  readonly mesh?: Mesh;
}

export const DEFAULT_MODEL_OPTIONS: ModelOptions = Object.freeze({ actQuant: 'fp8' });

/** Names of a layer's KV cache inputs and outputs. */
export function cacheNames(layer: number): { cKv: string; kPe: string } {
  return { cKv: `cache.${layer}.c_kv`, kPe: `cache.${layer}.k_pe` };
}

class ModelBuilder {
  private readonly g: GraphBuilder;
  /** The rank's model: the config with 1/tp of the heads and intermediate sizes. */
  private readonly c: ModelConfig;
  private readonly tp: number;
  private readonly ep: number;
  private readonly N: Dim; // tokens in this step
  private readonly seqView: readonly [Dim, Dim]; // (sequences, tokens per sequence) for attention
  private readonly cacheBatch: Dim; // sequences of the slot table: 1 in prefill, B in decode
  private positions!: Value; // i32[N]
  private slots!: Value; // i32[N]: the pool row each new token's latent goes to
  private slotTable!: Value; // i32[Bc, S]: the pool row of each sequence's position j

  constructor(
    config: ModelConfig,
    private readonly phase: Phase,
    private readonly options: ModelOptions,
  ) {
    const mesh = options.mesh ?? SINGLE_RANK;
    this.c = rankConfig(config, mesh);
    this.tp = mesh.tp;
    this.ep = mesh.ep;
    this.g = new GraphBuilder(phase);
    this.N = phase === 'prefill' ? 'T' : 'B';
    this.seqView = phase === 'prefill' ? [1, 'T'] : ['B', 1];
    this.cacheBatch = phase === 'prefill' ? 1 : 'B';
  }

  build(): Graph {
    const { g, c } = this;
    const tokens = g.input('tokens', 'activation', 'i32', [this.N]);
    this.positions = g.input('positions', 'activation', 'i32', [this.N]);
    this.slots = g.input('slots', 'activation', 'i32', [this.N]);
    this.slotTable = g.input('slot_table', 'activation', 'i32', [this.cacheBatch, 'S']);
    let x = g.scoped('embed', () => this.embedding(tokens));
    for (let l = 0; l < c.numLayers; l++) x = g.scoped(`layers.${l}`, () => this.layer(l, x));
    const logits = g.scoped('head', () => {
      const normed = this.rmsNorm(x, 'model.norm.weight', c.hiddenSize);
      // Vocabulary-parallel: each rank's logits for its rows of the head (the embedding when tied).
      const head = c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
      const part = g.add1('matmul', [normed, this.weight(head, 'bf16', [c.vocabSize / this.tp, c.hiddenSize])], { dtype: 'f32' });
      return this.tp === 1 ? part : g.add1('all_gather', [part], { ranks: this.tp, group: 'tp' });
    });
    g.output('logits', logits);
    return g.build();
  }

  private weight(name: string, dtype: 'bf16' | 'f32', shape: number[]): Value {
    return this.g.input(name, 'weight', dtype, shape);
  }

  /**
   * The embedding rows of the tokens. Vocabulary-parallel on a mesh: a rank holds V/tp rows, looks
   * up the tokens in its part (local_ids: the others are −1, a zero row) and the tp all_reduce
   * adds the one rank's row each token has.
   */
  private embedding(tokens: Value): Value {
    const { g, c, tp } = this;
    const table = this.weight('model.embed_tokens.weight', 'bf16', [c.vocabSize / tp, c.hiddenSize]);
    if (tp === 1) return g.add1('embedding', [table, tokens]);
    const local = g.add1('local_ids', [tokens, g.input('tp_rank', 'activation', 'i32', [1])], { count: c.vocabSize / tp });
    return this.allReduce(g.add1('embedding', [table, local]));
  }

  /** The sum of a row-parallel result's partial sums over the tensor-parallel ranks (or, `world`, every rank: the MoE layer). */
  private allReduce(x: Value, group: 'tp' | 'world' = 'tp'): Value {
    const ranks = group === 'tp' ? this.tp : this.tp * this.ep;
    return ranks === 1 ? x : this.g.add1('all_reduce', [x], { ranks, group });
  }

  private rmsNorm(x: Value, weightName: string, dim: number): Value {
    return this.g.add1('rms_norm', [x, this.weight(weightName, 'bf16', [dim])], { eps: this.c.rmsNormEps });
  }

  /**
   * A linear layer `prefix` [out, in]: FP8 weight dequantized by its block scales, or a bf16 weight.
   * Under W8A8 the input goes through its FP8 quantization first, unless `keepInput`.
   */
  private linear(x: Value, prefix: string, outDim: number, inDim: number, keepInput = false): Value {
    return this.g.add1('matmul', [keepInput ? x : this.actQuant(x), this.linearWeight(prefix, outDim, inDim)]);
  }

  /** x as the W8A8 GEMM sees it: quantized per 1×blockK group and scaled back. */
  private actQuant(x: Value): Value {
    const q = this.c.quantization;
    if (!q || this.options.actQuant !== 'fp8') return x;
    const block = q.blockK;
    return this.g.add1('dequant_act_fp8', this.g.add('act_quant_fp8', [x], { block }), { block });
  }

  private linearWeight(prefix: string, outDim: number, inDim: number): Value {
    const q = this.c.quantization;
    if (!q) return this.weight(`${prefix}.weight`, 'bf16', [outDim, inDim]);
    return this.g.add1('dequant_fp8', this.linearOperands(prefix, outDim, inDim), { blockN: q.blockN, blockK: q.blockK });
  }

  /** The checkpoint tensors of a linear: [weight] or [fp8 weight, weight_scale_inv]. */
  private linearOperands(prefix: string, outDim: number, inDim: number): Value[] {
    const q = this.c.quantization;
    if (!q) return [this.weight(`${prefix}.weight`, 'bf16', [outDim, inDim])];
    return [
      this.g.input(`${prefix}.weight`, 'weight', 'fp8e4m3', [outDim, inDim]),
      this.weight(`${prefix}.weight_scale_inv`, 'f32', [Math.ceil(outDim / q.blockN), Math.ceil(inDim / q.blockK)]),
    ];
  }

  /**
   * One projection of every routed expert as a stacked weight [E, out, in] (and its stacked scales
   * when quantized), derived at load time from the per-expert checkpoint tensors: DeepSeek-V3 has
   * 256 experts × 3 projections × 58 layers, and stacks keep the graph at a few inputs a layer.
   */
  private stackedExperts(p: string, proj: string, outDim: number, inDim: number): Value[] {
    const { c, g } = this;
    // The per-expert names as one run (`….experts.{}.gate_proj.weight` from 0): V3 has ~89k of
    // them. On an ep > 1 mesh the run still names every expert and each rank stacks its part.
    const attrs: Attrs = this.ep > 1 ? { epRanks: this.ep } : {};
    const stack = (suffix: string) => ({ kind: 'stack', sources: nameRun(`${p}.experts.{}.${proj}.${suffix}`, 0, c.nRoutedExperts), attrs });
    const q = c.quantization;
    const E = c.nRoutedExperts / this.ep;
    if (!q) return [g.input(`${p}.experts.${proj}.weight`, 'weight', 'bf16', [E, outDim, inDim], stack('weight'))];
    return [
      g.input(`${p}.experts.${proj}.weight`, 'weight', 'fp8e4m3', [E, outDim, inDim], stack('weight')),
      g.input(`${p}.experts.${proj}.weight_scale_inv`, 'weight', 'f32', [E, Math.ceil(outDim / q.blockN), Math.ceil(inDim / q.blockK)], stack('weight_scale_inv')),
    ];
  }

  private layer(l: number, x: Value): Value {
    const { g } = this;
    const p = `model.layers.${l}`;
    const attn = g.scoped('attn', () => this.allReduce(this.attention(l, this.rmsNorm(x, `${p}.input_layernorm.weight`, this.c.hiddenSize))));
    const h = g.add1('add', [x, attn]);
    const normed = this.rmsNorm(h, `${p}.post_attention_layernorm.weight`, this.c.hiddenSize);
    const moe = isMoeLayer(this.c, l);
    const mlp = g.scoped('mlp', () => this.allReduce(moe ? this.moe(l, normed) : this.swiglu(normed, `${p}.mlp`, this.c.intermediateSize), moe ? 'world' : 'tp'));
    return g.add1('add', [h, mlp]);
  }

  private attention(l: number, x: Value): Value {
    const { g, c, N } = this;
    const p = `model.layers.${l}.self_attn`;
    const H = c.hiddenSize;
    const heads = c.numHeads;
    const [nope, rope, vDim, kvl] = [c.qkNopeHeadDim, c.qkRopeHeadDim, c.vHeadDim, c.kvLoraRank];
    const [Bq, Tq] = this.seqView;

    let q: Value;
    if (c.qLoraRank === null) {
      q = this.linear(x, `${p}.q_proj`, heads * (nope + rope), H);
    } else {
      const qa = this.rmsNorm(this.linear(x, `${p}.q_a_proj`, c.qLoraRank, H), `${p}.q_a_layernorm.weight`, c.qLoraRank);
      q = this.linear(qa, `${p}.q_b_proj`, heads * (nope + rope), c.qLoraRank);
    }
    const qHeads = g.add1('reshape', [q], { shape: [N, heads, nope + rope] }); // (N, heads, nope + rope)
    const qNope = g.add1('slice', [qHeads], { start: 0, size: nope });
    const qPe = g.add1('rope', [g.add1('slice', [qHeads], { start: nope, size: rope }), this.positions], ropeAttrs(c));

    const kv = this.linear(x, `${p}.kv_a_proj_with_mqa`, kvl + rope, H); // (N, kv_lora + rope)
    const cKv = this.rmsNorm(g.add1('slice', [kv], { start: 0, size: kvl }), `${p}.kv_a_layernorm.weight`, kvl);
    const kPe = g.add1('rope', [g.add1('slice', [kv], { start: kvl, size: rope }), this.positions], ropeAttrs(c));

    // The new latents go to their pool rows; attention reads each sequence's rows back in position order.
    const names = cacheNames(l);
    const posView = g.add1('reshape', [this.positions], { shape: [Bq, Tq] });
    const poolC = g.add1('kv_write', [g.input(names.cKv, 'cache', 'bf16', ['P', kvl]), cKv, this.slots]);
    const poolK = g.add1('kv_write', [g.input(names.kPe, 'cache', 'bf16', ['P', rope]), kPe, this.slots]);
    g.output(names.cKv, poolC);
    g.output(names.kPe, poolK);
    const cacheC = g.add1('gather_rows', [poolC, this.slotTable]); // (Bc, S, kv_lora)
    const cacheK = g.add1('gather_rows', [poolK, this.slotTable]); // (Bc, S, rope)

    // Expanded MLA: every cached latent goes back up through kv_b_proj to per-head k_nope and v.
    const kvb = this.linear(cacheC, `${p}.kv_b_proj`, heads * (nope + vDim), kvl, true); // (Bc, S, heads·(nope + v))
    const kvbHeads = g.add1('reshape', [kvb], { shape: [this.cacheBatch, 'S', heads, nope + vDim] });
    const kNope = g.add1('slice', [kvbHeads], { start: 0, size: nope });
    const v = g.add1('slice', [kvbHeads], { start: nope, size: vDim });
    const out = g.add1('mla_attention', [
      g.add1('reshape', [qNope], { shape: [Bq, Tq, heads, nope] }),
      g.add1('reshape', [qPe], { shape: [Bq, Tq, heads, rope] }),
      kNope,
      cacheK,
      v,
      posView,
    ], { scale: softmaxScale(c) }); // (Bq, Tq, heads, v)
    return this.linear(g.add1('reshape', [out], { shape: [N, heads * vDim] }), `${p}.o_proj`, H, heads * vDim);
  }

  /** down(silu(gate(x)) ⊙ up(x)): the dense MLP and the shared experts. */
  private swiglu(x: Value, p: string, inter: number): Value {
    const { g } = this;
    const H = this.c.hiddenSize;
    const gate = this.linear(x, `${p}.gate_proj`, inter, H);
    const up = this.linear(x, `${p}.up_proj`, inter, H);
    return this.linear(g.add1('mul', [g.add1('silu', [gate]), up]), `${p}.down_proj`, H, inter);
  }

  private moe(l: number, x: Value): Value {
    const { g, c } = this;
    const p = `model.layers.${l}.mlp`;
    const [H, E, I] = [c.hiddenSize, c.nRoutedExperts, c.moeIntermediateSize];
    const logits = g.add1('matmul', [x, this.weight(`${p}.gate.weight`, 'bf16', [E, H])], { dtype: 'f32' });
    const [ids, weights] = g.add('topk_route', [g.add1('sigmoid', [logits]), this.weight(`${p}.gate.e_score_correction_bias`, 'f32', [E])], {
      topK: c.numExpertsPerTok,
      nGroup: c.nGroup,
      topkGroup: c.topkGroup,
      normTopkProb: c.normTopkProb,
      routedScalingFactor: c.routedScalingFactor,
    });
    const experts = [
      ...this.stackedExperts(p, 'gate_proj', I, H),
      ...this.stackedExperts(p, 'up_proj', I, H),
      ...this.stackedExperts(p, 'down_proj', H, I),
    ];
    const q = c.quantization;
    const actQuant = q !== null && this.options.actQuant === 'fp8';
    const attrs = { numExperts: E / this.ep, quantized: q !== null, actQuant, blockN: q?.blockN ?? 0, blockK: q?.blockK ?? 0 };
    // Expert parallelism: this rank computes its E/ep experts; ids of the others become −1.
    const local = this.ep === 1 ? ids : g.add1('local_ids', [ids, this.g.input('ep_rank', 'activation', 'i32', [1])], { count: E / this.ep });
    const routed = g.add1('moe_experts', [x, local, weights, ...experts], attrs);
    if (c.nSharedExperts === 0) return routed;
    // The shared experts' intermediate size splits over every rank of the mesh (tensor-parallel.ts).
    return g.add1('add', [routed, this.swiglu(x, `${p}.shared_experts`, (I * c.nSharedExperts) / this.ep)]);
  }
}
