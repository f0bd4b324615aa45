import fc from 'fast-check';

/**
 * Random valid DeepseekV3ForCausalLM config.json objects with tiny sizes, in the Hugging Face
 * spelling, so that they go through the same parser as real configs. Block sizes are small so FP8
 * blocks are partial at the edges; the RoPE parameters come as rope_scaling or rope_parameters.
 */
export const arbitraryRawConfig: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    hidden: fc.integer({ min: 8, max: 40 }),
    heads: fc.integer({ min: 1, max: 3 }),
    nope: fc.integer({ min: 2, max: 8 }),
    ropeHalf: fc.integer({ min: 1, max: 4 }),
    v: fc.integer({ min: 2, max: 8 }),
    kvLora: fc.integer({ min: 4, max: 16 }),
    qLora: fc.option(fc.integer({ min: 4, max: 16 }), { nil: null }),
    inter: fc.integer({ min: 4, max: 24 }),
    moeInter: fc.integer({ min: 4, max: 16 }),
    nGroup: fc.integer({ min: 1, max: 4 }),
    perGroup: fc.integer({ min: 2, max: 4 }),
    topkGroupFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    kFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    shared: fc.integer({ min: 0, max: 2 }),
    layers: fc.integer({ min: 1, max: 3 }),
    denseFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    vocab: fc.integer({ min: 8, max: 40 }),
    block: fc.option(fc.tuple(fc.integer({ min: 2, max: 16 }), fc.integer({ min: 2, max: 16 })), { nil: null }),
    yarn: fc.option(fc.record({ factor: fc.double({ min: 1.5, max: 40, noNaN: true }), mscaleAllDim: fc.double({ min: 0.5, max: 1.5, noNaN: true }) }), { nil: null }),
    ropeParameters: fc.boolean(),
    norm: fc.boolean(),
    scaling: fc.double({ min: 1, max: 3, noNaN: true }),
    mtp: fc.integer({ min: 0, max: 1 }),
  })
  .map((r) => {
    const experts = r.nGroup * r.perGroup;
    const topkGroup = 1 + Math.floor(r.topkGroupFrac * (r.nGroup - 0.001));
    const k = 1 + Math.floor(r.kFrac * (topkGroup * r.perGroup - 0.001));
    const yarn = r.yarn && {
      type: 'yarn',
      factor: r.yarn.factor,
      original_max_position_embeddings: 64,
      beta_fast: 32,
      beta_slow: 1,
      mscale: r.yarn.mscaleAllDim,
      mscale_all_dim: r.yarn.mscaleAllDim,
    };
    const rope = r.ropeParameters
      ? { rope_parameters: yarn ? { ...yarn, rope_type: 'yarn', rope_theta: 10000 } : { rope_type: 'default', rope_theta: 10000 } }
      : { rope_theta: 10000, rope_scaling: yarn };
    return {
      architectures: ['DeepseekV3ForCausalLM'],
      hidden_act: 'silu',
      hidden_size: r.hidden,
      intermediate_size: r.inter,
      moe_intermediate_size: r.moeInter,
      num_hidden_layers: r.layers,
      first_k_dense_replace: Math.floor(r.denseFrac * (r.layers + 0.999)),
      num_attention_heads: r.heads,
      q_lora_rank: r.qLora,
      kv_lora_rank: r.kvLora,
      qk_nope_head_dim: r.nope,
      qk_rope_head_dim: 2 * r.ropeHalf,
      v_head_dim: r.v,
      n_routed_experts: experts,
      n_group: r.nGroup,
      topk_group: topkGroup,
      num_experts_per_tok: k,
      n_shared_experts: r.shared,
      norm_topk_prob: r.norm,
      routed_scaling_factor: r.scaling,
      scoring_func: 'sigmoid',
      topk_method: 'noaux_tc',
      rms_norm_eps: 1e-6,
      max_position_embeddings: 256,
      vocab_size: r.vocab,
      num_nextn_predict_layers: r.mtp,
      ...rope,
      quantization_config: r.block && {
        quant_method: 'fp8',
        fmt: 'e4m3',
        activation_scheme: 'dynamic',
        weight_block_size: r.block,
      },
    };
  });
