import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.ts';
import type { Fp8Quantization, ModelConfig, RopeScaling } from './model-config.ts';

type Json = Record<string, unknown>;

/** Reads and validates a config.json; every error names the file and the field. */
export function loadConfig(path: string): ModelConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, '(file)', undefined, `a readable config.json (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(path, '(file)', undefined, `valid JSON (${(e as Error).message})`);
  }
  return parseConfig(json, path);
}

/** Validates a parsed config object. `source` names it in errors. */
export function parseConfig(json: unknown, source = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(source, '(root)', json, 'a JSON object');
  }
  const f = new FieldReader(json as Json, source);

  const architectures = (json as Json).architectures;
  if (architectures !== undefined) {
    if (!Array.isArray(architectures) || !architectures.includes('DeepseekV3ForCausalLM')) {
      throw new ConfigError(source, 'architectures', architectures, '["DeepseekV3ForCausalLM"]');
    }
  }
  const act = f.optional('hidden_act', 'silu');
  if (act !== 'silu') throw new ConfigError(source, 'hidden_act', act, '"silu"');

  const nRoutedExperts = f.count('n_routed_experts', 0);
  const moe = nRoutedExperts > 0;
  const config: ModelConfig = {
    source,
    vocabSize: f.positiveInt('vocab_size'),
    hiddenSize: f.positiveInt('hidden_size'),
    intermediateSize: f.positiveInt('intermediate_size'),
    moeIntermediateSize: moe ? f.positiveInt('moe_intermediate_size') : f.count('moe_intermediate_size', 0),
    numLayers: f.positiveInt('num_hidden_layers'),
    firstKDenseReplace: f.count('first_k_dense_replace', 0),
    moeLayerFreq: f.positiveInt('moe_layer_freq', 1),
    numHeads: f.positiveInt('num_attention_heads'),
    qLoraRank: f.nullablePositiveInt('q_lora_rank'),
    kvLoraRank: f.positiveInt('kv_lora_rank'),
    qkNopeHeadDim: f.positiveInt('qk_nope_head_dim'),
    qkRopeHeadDim: f.positiveInt('qk_rope_head_dim'),
    vHeadDim: f.positiveInt('v_head_dim'),
    nRoutedExperts,
    nSharedExperts: f.count('n_shared_experts', 0),
    numExpertsPerTok: moe ? f.positiveInt('num_experts_per_tok') : f.count('num_experts_per_tok', 0),
    nGroup: moe ? f.positiveInt('n_group', 1) : 1,
    topkGroup: moe ? f.positiveInt('topk_group', 1) : 1,
    normTopkProb: f.bool('norm_topk_prob', true),
    routedScalingFactor: f.positiveNumber('routed_scaling_factor', 1),
    scoringFunc: f.oneOf('scoring_func', ['sigmoid'], 'sigmoid'),
    topkMethod: f.oneOf('topk_method', ['noaux_tc'], 'noaux_tc'),
    rmsNormEps: f.positiveNumber('rms_norm_eps'),
    ropeTheta: ropeTheta(f),
    rope: ropeScaling(f),
    maxPositionEmbeddings: f.positiveInt('max_position_embeddings'),
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    numNextnPredictLayers: f.count('num_nextn_predict_layers', 0),
    quantization: quantization(f),
    bosTokenId: f.nullableCount('bos_token_id'),
    eosTokenId: f.nullableCount('eos_token_id'),
  };
  validateRelations(config);
  return Object.freeze(config);
}

/** Checks between fields: each names the field that is wrong given the others. */
function validateRelations(c: ModelConfig): void {
  const err = (field: string, value: unknown, expected: string) => new ConfigError(c.source, field, value, expected);
  if (c.qkRopeHeadDim % 2 !== 0) {
    throw err('qk_rope_head_dim', c.qkRopeHeadDim, 'an even number (RoPE rotates pairs of elements)');
  }
  if (c.firstKDenseReplace > c.numLayers) {
    throw err('first_k_dense_replace', c.firstKDenseReplace, `at most num_hidden_layers (${c.numLayers})`);
  }
  if (c.nRoutedExperts === 0) return;
  if (c.nRoutedExperts % c.nGroup !== 0) {
    throw err('n_group', c.nGroup, `a divisor of n_routed_experts (${c.nRoutedExperts})`);
  }
  if (c.topkGroup > c.nGroup) {
    throw err('topk_group', c.topkGroup, `at most n_group (${c.nGroup})`);
  }
  const perGroup = c.nRoutedExperts / c.nGroup;
  if (perGroup < 2) {
    throw err('n_group', c.nGroup, `at most n_routed_experts / 2 (${c.nRoutedExperts / 2}): a group's score is the sum of its top two experts, so each group needs at least 2`);
  }
  const selectable = c.topkGroup * perGroup;
  if (c.numExpertsPerTok > selectable) {
    throw err('num_experts_per_tok', c.numExpertsPerTok, `at most topk_group × experts per group (${c.topkGroup} × ${perGroup} = ${selectable})`);
  }
}

function ropeTheta(f: FieldReader): number {
  const params = f.raw('rope_parameters');
  if (isObject(params) && params.rope_theta !== undefined) {
    return f.nested('rope_parameters', params).positiveNumber('rope_theta');
  }
  return f.positiveNumber('rope_theta', 10000);
}

/** Accepts the classic `rope_scaling` and the newer `rope_parameters` (transformers ≥ 4.5x). */
function ropeScaling(f: FieldReader): RopeScaling {
  const field = f.raw('rope_scaling') != null ? 'rope_scaling' : 'rope_parameters';
  const raw = f.raw(field);
  if (raw == null) return { type: 'none' };
  if (!isObject(raw)) throw new ConfigError(f.source, field, raw, 'an object or null');
  const r = f.nested(field, raw);
  const type = raw.rope_type ?? raw.type;
  const typeField = raw.rope_type !== undefined ? 'rope_type' : 'type';
  if (type === 'default') return { type: 'none' };
  if (type !== 'yarn') {
    throw new ConfigError(f.source, `${field}.${typeField}`, type, '"yarn" or "default"');
  }
  return {
    type: 'yarn',
    factor: r.positiveNumber('factor'),
    originalMaxPositionEmbeddings: r.positiveInt('original_max_position_embeddings'),
    betaFast: r.positiveNumber('beta_fast'),
    betaSlow: r.positiveNumber('beta_slow'),
    mscale: r.positiveNumber('mscale'),
    mscaleAllDim: r.positiveNumber('mscale_all_dim'),
  };
}

function quantization(f: FieldReader): Fp8Quantization | null {
  const raw = f.raw('quantization_config');
  if (raw == null) return null;
  const field = 'quantization_config';
  if (!isObject(raw)) throw new ConfigError(f.source, field, raw, 'an object or null');
  const q = f.nested(field, raw);
  q.oneOf('quant_method', ['fp8']);
  q.oneOf('fmt', ['e4m3']);
  q.oneOf('activation_scheme', ['dynamic'], 'dynamic');
  const block = raw.weight_block_size;
  if (
    !Array.isArray(block) ||
    block.length !== 2 ||
    !block.every((b) => Number.isInteger(b) && (b as number) > 0)
  ) {
    throw new ConfigError(f.source, `${field}.weight_block_size`, block, 'two positive integers [block_n, block_k]');
  }
  return { fmt: 'e4m3', blockN: block[0] as number, blockK: block[1] as number, activationScheme: 'dynamic' };
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Typed reads of one JSON object's fields; `prefix` makes nested fields read as `rope_scaling.factor`. */
class FieldReader {
  constructor(
    private readonly json: Json,
    readonly source: string,
    private readonly prefix = '',
  ) {}

  nested(field: string, json: Json): FieldReader {
    return new FieldReader(json, this.source, `${this.prefix}${field}.`);
  }

  raw(field: string): unknown {
    return this.json[field];
  }

  private get(field: string, fallback: unknown, expected: string): unknown {
    const v = this.json[field];
    if (v !== undefined) return v;
    if (fallback !== undefined) return fallback;
    throw this.error(field, v, expected);
  }

  private error(field: string, value: unknown, expected: string): ConfigError {
    return new ConfigError(this.source, this.prefix + field, value, expected);
  }

  positiveInt(field: string, fallback?: number): number {
    const v = this.get(field, fallback, 'a positive integer');
    if (!Number.isSafeInteger(v) || (v as number) <= 0) throw this.error(field, v, 'a positive integer');
    return v as number;
  }

  count(field: string, fallback?: number): number {
    const v = this.get(field, fallback, 'a non-negative integer');
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw this.error(field, v, 'a non-negative integer');
    return v as number;
  }

  nullablePositiveInt(field: string): number | null {
    const v = this.json[field];
    return v === null || v === undefined ? null : this.positiveInt(field);
  }

  nullableCount(field: string): number | null {
    const v = this.json[field];
    return v === null || v === undefined ? null : this.count(field);
  }

  positiveNumber(field: string, fallback?: number): number {
    const v = this.get(field, fallback, 'a positive number');
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw this.error(field, v, 'a positive number');
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.get(field, fallback, 'true or false');
    if (typeof v !== 'boolean') throw this.error(field, v, 'true or false');
    return v;
  }

  oneOf<T extends string>(field: string, allowed: readonly T[], fallback?: T): T {
    const expected = allowed.map((a) => JSON.stringify(a)).join(' or ');
    const v = this.get(field, fallback, expected);
    if (!allowed.includes(v as T)) throw this.error(field, v, expected);
    return v as T;
  }

  optional(field: string, fallback: unknown): unknown {
    return this.json[field] ?? fallback;
  }
}
