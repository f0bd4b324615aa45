import { readFileSync, readdirSync } from 'node:fs';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../compiler/config/config-error.ts';
import { derivedDims } from '../../compiler/config/model-config.ts';
import { loadConfig, parseConfig } from '../../compiler/config/parse-config.ts';
import { arbitraryRawConfig } from '../support/arbitrary-config.ts';

type Raw = Record<string, unknown>;

/** Each class of invalid config: how to break a valid one, and the field the error must name. */
const INVALID: { name: string; field: string; breaks: (c: Raw) => void }[] = [
  { name: 'non-positive hidden size', field: 'hidden_size', breaks: (c) => (c.hidden_size = 0) },
  { name: 'negative head count', field: 'num_attention_heads', breaks: (c) => (c.num_attention_heads = -4) },
  { name: 'fractional vocab', field: 'vocab_size', breaks: (c) => (c.vocab_size = 10.5) },
  { name: 'string size', field: 'kv_lora_rank', breaks: (c) => (c.kv_lora_rank = '512') },
  { name: 'missing size', field: 'v_head_dim', breaks: (c) => delete c.v_head_dim },
  { name: 'experts not divisible by n_group', field: 'n_group', breaks: (c) => ((c.n_routed_experts = 12), (c.n_group = 5), (c.topk_group = 1), (c.num_experts_per_tok = 1)) },
  { name: 'topk_group > n_group', field: 'topk_group', breaks: (c) => ((c.n_routed_experts = 8), (c.n_group = 2), (c.topk_group = 3), (c.num_experts_per_tok = 1)) },
  { name: 'one expert per group', field: 'n_group', breaks: (c) => ((c.n_routed_experts = 4), (c.n_group = 4), (c.topk_group = 2), (c.num_experts_per_tok = 1)) },
  { name: 'more experts per token than selectable', field: 'num_experts_per_tok', breaks: (c) => ((c.n_routed_experts = 8), (c.n_group = 4), (c.topk_group = 2), (c.num_experts_per_tok = 5)) },
  { name: 'odd qk_rope_head_dim', field: 'qk_rope_head_dim', breaks: (c) => (c.qk_rope_head_dim = 7) },
  { name: 'first_k_dense_replace > num_hidden_layers', field: 'first_k_dense_replace', breaks: (c) => (c.first_k_dense_replace = (c.num_hidden_layers as number) + 1) },
  { name: 'unknown scoring_func', field: 'scoring_func', breaks: (c) => (c.scoring_func = 'softmax') },
  { name: 'unknown topk_method', field: 'topk_method', breaks: (c) => (c.topk_method = 'greedy') },
  { name: 'unknown rope type', field: 'rope_scaling.type', breaks: (c) => (delete c.rope_parameters, (c.rope_scaling = { type: 'dynamic', factor: 2 })) },
  { name: 'missing yarn field', field: 'rope_scaling.beta_fast', breaks: (c) => (delete c.rope_parameters, (c.rope_scaling = { type: 'yarn', factor: 40, original_max_position_embeddings: 4096, beta_slow: 1, mscale: 1, mscale_all_dim: 1 })) },
  { name: 'quantization other than fp8', field: 'quantization_config.quant_method', breaks: (c) => (c.quantization_config = { quant_method: 'awq', fmt: 'e4m3', weight_block_size: [128, 128] }) },
  { name: 'fp8 e5m2', field: 'quantization_config.fmt', breaks: (c) => (c.quantization_config = { quant_method: 'fp8', fmt: 'e5m2', weight_block_size: [128, 128] }) },
  { name: 'one-int weight_block_size', field: 'quantization_config.weight_block_size', breaks: (c) => (c.quantization_config = { quant_method: 'fp8', fmt: 'e4m3', weight_block_size: [128] }) },
  { name: 'non-integer weight_block_size', field: 'quantization_config.weight_block_size', breaks: (c) => (c.quantization_config = { quant_method: 'fp8', fmt: 'e4m3', weight_block_size: [128, 'x'] }) },
  { name: 'another architecture', field: 'architectures', breaks: (c) => (c.architectures = ['LlamaForCausalLM']) },
];

describe('config loading', () => {
  const shipped = readdirSync('configs').filter((f) => f.endsWith('.json'));

  it.each(shipped)('accepts the shipped config %s', (file) => {
    const c = loadConfig(`configs/${file}`);
    expect(c.hiddenSize).toBeGreaterThan(0);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('derives DeepSeek-V3 dims', () => {
    const c = loadConfig('configs/deepseek-v3.json');
    const d = derivedDims(c);
    expect(d.qkHeadDim).toBe(192);
    expect(d.kvLatentDim).toBe(576);
    expect(d.denseLayers).toEqual([0, 1, 2]);
    expect(d.moeLayers.length).toBe(58);
    expect(c.quantization).toEqual({ fmt: 'e4m3', blockN: 128, blockK: 128, activationScheme: 'dynamic' });
    expect(c.rope).toMatchObject({ type: 'yarn', factor: 40, originalMaxPositionEmbeddings: 4096 });
  });

  it('reads rope_parameters the same as rope_scaling', () => {
    const yarn = { factor: 40, original_max_position_embeddings: 4096, beta_fast: 32, beta_slow: 1, mscale: 1, mscale_all_dim: 1 };
    const classic = parseConfig({ ...v3WithoutRope(), rope_theta: 10000, rope_scaling: { type: 'yarn', ...yarn } });
    const modern = parseConfig({ ...v3WithoutRope(), rope_parameters: { rope_type: 'yarn', rope_theta: 10000, ...yarn } });
    expect(modern.rope).toEqual(classic.rope);
    expect(modern.ropeTheta).toBe(10000);
    expect(modern.rope).toEqual(loadConfig('configs/deepseek-v3.json').rope);
  });

  it('names the file when the JSON is malformed', () => {
    expect(() => loadConfig('configs/does-not-exist.json')).toThrow(/does-not-exist\.json/);
  });

  test.prop([arbitraryRawConfig], { numRuns: 200 })('accepts every generated valid config', (raw) => {
    expect(() => parseConfig(raw, 'generated.json')).not.toThrow();
  });

  describe.each(INVALID)('rejects $name', ({ field, breaks }) => {
    test.prop([arbitraryRawConfig], { numRuns: 30 })(`naming ${field}`, (raw) => {
      const broken = structuredClone(raw);
      breaks(broken);
      let error: unknown;
      try {
        parseConfig(broken, 'broken.json');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe(field);
      expect((error as ConfigError).message).toContain(`broken.json: field "${field}"`);
      expect((error as ConfigError).message).toMatch(/expected /);
    });
  });
});

/** The real config minus its RoPE fields, which each case supplies in its own spelling. */
function v3WithoutRope(): Raw {
  const { rope_scaling: _s, rope_theta: _t, ...rest } = JSON.parse(readFileSync('configs/deepseek-v3.json', 'utf8')) as Raw;
  return rest;
}
