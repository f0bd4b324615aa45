import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { interpret } from '../../compiler/ir/interpret.ts';
import { relativeError } from '../../compiler/ir/tensor.ts';
import { buildModel } from '../../compiler/model/build-model.ts';
import { runPipeline } from '../../compiler/passes/pipeline.ts';
import { referencePrefill } from '../reference/forward.ts';
import { randomWeights } from '../reference/random-weights.ts';
import { TestPages, emptyCaches, stepInputs } from '../support/model-inputs.ts';

/**
 * The shipped tiny configs through the whole pipeline in both activation modes, against the
 * reference in the same mode (bound 1e-9: the same quantization on both sides, float64 otherwise).
 * The distance between W8A8 and W8A16 is measured and printed: it is the cost of quantizing
 * activations, not an error of ours.
 */
const CONFIGS = ['tiny-moe-128', 'tiny-noqlora', 'tiny-bf16-dense1', 'tiny-v3-offgrid'];

describe.each(CONFIGS)('%s through the pipeline', (name) => {
  const config = loadConfig(`configs/${name}.json`);
  const weights = randomWeights(config, 1234 + name.length);
  const tokens = Array.from({ length: 6 }, (_, i) => (i * 37 + 11) % config.vocabSize);
  const pages = new TestPages(16, 4, 7);
  const inputs = stepInputs(weights, tokens, tokens.map((_, i) => i), emptyCaches(config, pages.rows), pages);

  const logits = (actQuant: 'fp8' | 'none') => {
    const graph = runPipeline(buildModel(config, 'prefill', { actQuant }), config).graph;
    return interpret(graph, inputs).get('logits')!.data;
  };

  it('matches the reference in W8A16 and W8A8, and reports their distance', () => {
    const w8a16 = logits('none');
    const w8a8 = logits('fp8');
    expect(relativeError(w8a16, Float64Array.from(referencePrefill(config, weights, tokens, { actQuant: 'none' }).logits.flat()))).toBeLessThan(1e-9);
    expect(relativeError(w8a8, Float64Array.from(referencePrefill(config, weights, tokens, { actQuant: 'fp8' }).logits.flat()))).toBeLessThan(1e-9);
    const distance = relativeError(w8a8, w8a16);
    console.log(`${name}: ‖W8A8 − W8A16‖/‖W8A16‖ = ${distance.toExponential(3)} over ${tokens.length} prompt positions`);
    if (config.quantization) expect(distance).toBeGreaterThan(0);
    else expect(distance).toBe(0);
  });
});
