import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { parseConfig } from '../../compiler/config/parse-config.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { interpret } from '../../compiler/ir/interpret.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { relativeError } from '../../compiler/ir/tensor.ts';
import type { ModelOptions } from '../../compiler/model/build-model.ts';
import { buildModel } from '../../compiler/model/build-model.ts';
import { PASS_NAMES, runPipeline } from '../../compiler/passes/pipeline.ts';
import { referenceDecode, referencePrefill } from '../reference/forward.ts';
import { randomWeights } from '../reference/random-weights.ts';
import { arbitraryRawConfig } from '../support/arbitrary-config.ts';
import { TestPages, emptyCaches, stepInputs, writtenCaches } from '../support/model-inputs.ts';

/**
 * Every pass preserves the model: the interpreter on the optimized graph equals the interpreter on
 * the model graph and the independent reference forward, for prefill and for a decode step after
 * it, with all passes and with each pass left out. The passes are exact rewrites and FP8
 * activation quantization is part of the model (both sides quantize alike), so the bound is
 * float64 reassociation noise: 1e-9.
 */
const BOUND = 1e-9;

interface Case {
  config: ModelConfig;
  options: ModelOptions;
  seed: number;
  prompt: number[];
  next: number;
}

/** A random config, W8A8 only with DeepSeek's 128-wide blocks (the width the reference's activation groups have). */
const arbitraryCase: fc.Arbitrary<Case> = fc
  .tuple(arbitraryRawConfig, fc.constantFrom<ModelOptions['actQuant']>('none', 'fp8'), fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 5 }))
  .map(([raw, actQuant, seed, promptLength]) => {
    if (actQuant === 'fp8' && raw.quantization_config) (raw.quantization_config as { weight_block_size: number[] }).weight_block_size = [128, 128];
    const config = parseConfig(raw, 'generated.json');
    const tokens = Array.from({ length: promptLength + 1 }, (_, i) => (seed * (i + 7)) % config.vocabSize);
    return { config, options: { actQuant }, seed, prompt: tokens.slice(0, -1), next: tokens[promptLength] };
  });

function optimize(graph: Graph, c: Case, disabled: string[]): Graph {
  return runPipeline(graph, c.config, disabled).graph;
}

function logitsOf(outputs: Map<string, Tensor>): Float64Array {
  return outputs.get('logits')!.data;
}

describe('passes preserve the model', () => {
  test.prop([arbitraryCase, fc.constantFrom(null, ...PASS_NAMES)], { numRuns: 40 })('prefill and decode-after-prefill, all passes or all but one', (c, left) => {
    const weights = randomWeights(c.config, c.seed);
    const disabled = left ? [left] : [];
    const P = c.prompt.length;

    // A pool of 16 rows in pages of 2 handed out shuffled: the sequence's rows are scattered.
    const pages = new TestPages(16, 2, c.seed);
    const prefill = buildModel(c.config, 'prefill', c.options);
    const prefillIn = stepInputs(weights, c.prompt, c.prompt.map((_, i) => i), emptyCaches(c.config, pages.rows), pages);
    const before = interpret(prefill, prefillIn);
    const after = interpret(optimize(prefill, c, disabled), prefillIn);
    const ref = referencePrefill(c.config, weights, c.prompt, c.options);
    expect(relativeError(logitsOf(before), Float64Array.from(ref.logits.flat()))).toBeLessThan(BOUND);
    expect(relativeError(logitsOf(after), logitsOf(before))).toBeLessThan(BOUND);
    expect(relativeError(logitsOf(after), Float64Array.from(ref.logits.flat()))).toBeLessThan(BOUND);

    const decode = buildModel(c.config, 'decode', c.options);
    const decodeIn = stepInputs(weights, [c.next], [P], writtenCaches(c.config, after), pages, { phase: 'decode' });
    const stepBefore = interpret(decode, decodeIn);
    const stepAfter = interpret(optimize(decode, c, disabled), decodeIn);
    const refStep = referenceDecode(c.config, weights, ref.cache, c.next, P, c.options);
    expect(relativeError(logitsOf(stepBefore), Float64Array.from(refStep.logits))).toBeLessThan(BOUND);
    expect(relativeError(logitsOf(stepAfter), logitsOf(stepBefore))).toBeLessThan(BOUND);
    expect(relativeError(logitsOf(stepAfter), Float64Array.from(refStep.logits))).toBeLessThan(BOUND);
  });
});
