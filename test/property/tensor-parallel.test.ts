import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { Mesh } from '../../compiler/config/mesh.ts';
import { formatMesh, MeshError, meshCoordinates, rankConfig, validateCompileMesh } from '../../compiler/config/mesh.ts';
import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { loadConfig, parseConfig } from '../../compiler/config/parse-config.ts';
import type { Phase } from '../../compiler/ir/graph.ts';
import { interpret, interpretRanks } from '../../compiler/ir/interpret.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { relativeError, tensor } from '../../compiler/ir/tensor.ts';
import { buildModel, cacheNames } from '../../compiler/model/build-model.ts';
import { rankTensors } from '../../compiler/model/tensor-parallel.ts';
import { runPipeline } from '../../compiler/passes/pipeline.ts';
import { randomWeights } from '../reference/random-weights.ts';
import { arbitraryRawConfig } from '../support/arbitrary-config.ts';
import { TestPages, emptyCaches, stepInputs, writtenCaches } from '../support/model-inputs.ts';

/**
 * Tensor and expert parallelism compute the model: the optimized graph every rank runs,
 * interpreted for all ranks together on their slices of the checkpoint (interpretRanks: the
 * collectives see every rank of their group; each expert-parallel rank stacks its experts), gives
 * every rank the logits and KV cache of the unsharded optimized graph, for a prefill and a decode
 * step after it. Both sides are float64 and the W8A8 activation groups never straddle ranks, so
 * the only difference is the order of the partial sums: 1e-9.
 */
const BOUND = 1e-9;

interface Case {
  config: ModelConfig;
  mesh: Mesh;
  actQuant: 'fp8' | 'none';
  seed: number;
  prompt: number[];
  next: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * A random config made divisible by the mesh: heads, intermediate sizes and vocabulary are tp
 * times the generated ones, the groups (so the experts) ep times, the experts' intermediate size
 * tp·ep times (the shared experts split over every rank), and FP8 blocks are as large as still
 * keep every rank's slice whole blocks.
 */
const arbitraryCase: fc.Arbitrary<Case> = fc
  .tuple(arbitraryRawConfig, fc.constantFrom<[number, number]>([2, 1], [3, 1], [4, 1], [1, 2], [1, 3], [2, 2]), fc.constantFrom<'fp8' | 'none'>('none', 'fp8'), fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 4 }))
  .map(([raw, [tp, ep], actQuant, seed, promptLength]) => {
    const r = raw as Record<string, number> & { quantization_config: { weight_block_size: number[] } | null };
    const [heads, inter, moeInter] = [r.num_attention_heads, r.intermediate_size, r.moe_intermediate_size];
    const local = { ...r, num_attention_heads: heads * tp, intermediate_size: inter * tp, moe_intermediate_size: moeInter * tp * ep, vocab_size: r.vocab_size * tp, n_group: r.n_group * ep, n_routed_experts: r.n_routed_experts * ep };
    if (local.quantization_config) {
      const sharedLocal = r.n_shared_experts > 0 && ep > 1 ? [moeInter * r.n_shared_experts] : [];
      const rows = [heads * (r.qk_nope_head_dim + r.qk_rope_head_dim), heads * (r.qk_nope_head_dim + r.v_head_dim), inter, moeInter * ep, ...sharedLocal].reduce(gcd);
      const columns = [heads * r.v_head_dim, inter, moeInter * ep, ...sharedLocal].reduce(gcd);
      local.quantization_config = { ...local.quantization_config, weight_block_size: [rows, columns] };
    }
    const config = parseConfig(local, 'generated.json');
    const tokens = Array.from({ length: promptLength + 1 }, (_, i) => (seed * (i + 7)) % config.vocabSize);
    return { config, mesh: { tp, ep }, actQuant, seed, prompt: tokens.slice(0, -1), next: tokens[promptLength] };
  });

/** The unsharded and the sharded step on the same inputs; returns the unsharded outputs. */
function compareStep(c: Case, phase: Phase, weights: ReadonlyMap<string, Tensor>, step: (w: ReadonlyMap<string, Tensor>) => Map<string, Tensor>): Map<string, Tensor> {
  const whole = runPipeline(buildModel(c.config, phase, { actQuant: c.actQuant }), c.config).graph;
  const split = runPipeline(buildModel(c.config, phase, { actQuant: c.actQuant, mesh: c.mesh }), rankConfig(c.config, c.mesh)).graph;
  const expected = interpret(whole, step(weights));
  const world = c.mesh.tp * c.mesh.ep;
  const rankInputs = (r: number) => {
    const { t, e } = meshCoordinates(c.mesh, r);
    return step(rankTensors(weights, c.mesh, r)).set('tp_rank', tensor([1], [t])).set('ep_rank', tensor([1], [e]));
  };
  const ranks = interpretRanks(split, Array.from({ length: world }, (_, r) => rankInputs(r)), c.mesh);
  ranks.forEach((outputs, r) => {
    for (const [name, want] of expected) {
      expect(relativeError(outputs.get(name)!, want), `${phase} ${name} on rank ${r} of ${formatMesh(c.mesh)}`).toBeLessThan(BOUND);
    }
  });
  return expected;
}

describe('tensor parallelism', () => {
  test.prop([arbitraryCase], { numRuns: 40 })('every rank gets the unsharded logits and KV cache: prefill, then decode (tp and ep up to 4 ranks)', (c) => {
    validateCompileMesh(c.config, c.mesh);
    const weights = randomWeights(c.config, c.seed);
    const pages = new TestPages(16, 2, c.seed);
    const P = c.prompt.length;
    const prefilled = compareStep(c, 'prefill', weights, (w) => stepInputs(w, c.prompt, c.prompt.map((_, i) => i), emptyCaches(c.config, pages.rows), pages));
    compareStep(c, 'decode', weights, (w) => stepInputs(w, [c.next], [P], writtenCaches(c.config, prefilled), pages, { phase: 'decode' }));
  });

  it('the rank graph holds 1/tp of the heads, sizes and vocabulary, an all_reduce after the embedding and each row-parallel result, and the head\'s all_gather', () => {
    const config = loadConfig('configs/deepseek-v3.json');
    const mesh = { tp: 8, ep: 1 };
    validateCompileMesh(config, mesh);
    const graph = runPipeline(buildModel(config, 'decode', { actQuant: 'fp8', mesh }), rankConfig(config, mesh)).graph;
    const ops = (op: string) => graph.nodes.filter((n) => n.op === op).length;
    expect(ops('all_reduce')).toBe(2 * config.numLayers + 1); // attention and MLP a layer, and the embedding
    expect(ops('all_gather')).toBe(1);
    const shape = (name: string) => graph.inputs.find((i) => i.name === name)!.value.type.shape;
    expect(shape('model.layers.0.self_attn.q_b_proj.weight')).toEqual([16 * 192, 1536]);
    expect(shape('model.layers.0.self_attn.o_proj.weight')).toEqual([7168, 16 * 128]);
    expect(shape('model.layers.3.mlp.experts.gate_up.weight')).toEqual([257, 2 * 256, 7168]);
    expect(shape('lm_head.weight')).toEqual([129280 / 8, 7168]);
    expect(shape('model.embed_tokens.weight')).toEqual([129280 / 8, 7168]);
    expect(shape(cacheNames(0).cKv)).toEqual(['P', 512]);
  });

  it('refuses a mesh whose slices would cut FP8 scale blocks, or that does not divide, naming the field', () => {
    const config = loadConfig('configs/deepseek-v3.json');
    expect(() => validateCompileMesh(config, { tp: 32, ep: 1 })).toThrow(MeshError);
    expect(() => validateCompileMesh(config, { tp: 32, ep: 1 })).toThrow(/each rank holds 576 rows \(intermediate_size\/32\).*not a multiple of the FP8 scale block's 128 rows/);
    expect(() => validateCompileMesh(config, { tp: 8, ep: 8 })).toThrow(/each rank holds 32 rows \(moe_intermediate_size × n_shared_experts \/ 64 ranks\)/);
    expect(() => validateCompileMesh(config, { tp: 1, ep: 3 })).toThrow(/ep=3 does not divide n_routed_experts \(256\)/);
    expect(() => validateCompileMesh(config, { tp: 3, ep: 1 })).toThrow(/tp=3 does not divide num_attention_heads/);
    expect(() => validateCompileMesh(loadConfig('configs/tiny-moe-128.json'), { tp: 2, ep: 1 })).toThrow(/kv_b_proj's num_attention_heads\/2 = 1 heads/);
  });
});
