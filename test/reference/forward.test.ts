import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { bf16Round } from './bf16.ts';
import { referenceDecode, referencePrefill } from './forward.ts';
import { Rng } from './prng.ts';
import { randomWeights } from './random-weights.ts';
import { relativeError } from './errors.ts';
import { relMaxError, repoConfig, TINY_CONFIGS } from './test-configs.ts';
import type { RefTensor, RefWeights } from './weights.ts';

function randomTokens(config: ModelConfig, n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.int(config.vocabSize));
}

describe.each(TINY_CONFIGS)('reference forward on %s', (file) => {
  const config = repoConfig(file);
  let w: RefWeights;
  beforeAll(() => {
    w = randomWeights(config, 11);
  });

  it('decodes after prefill exactly as a prefill of the longer sequence', () => {
    const tokens = randomTokens(config, 10, 5);
    const full = referencePrefill(config, w, tokens);
    let state = referencePrefill(config, w, tokens.slice(0, 7));
    for (let pos = 7; pos < 10; pos++) {
      const before = state.cache.layers.map((l) => l.cKv.length);
      const step = referenceDecode(config, w, state.cache, tokens[pos], pos);
      expect(relMaxError(step.logits, full.logits[pos])).toBeLessThan(1e-12);
      expect(state.cache.layers.map((l) => l.cKv.length)).toEqual(before); // the input cache is left alone
      expect(step.cache.layers.map((l) => [l.cKv.length, l.kPe.length])).toEqual(before.map(() => [pos + 1, pos + 1]));
      state = { logits: [step.logits], cache: step.cache };
    }
    for (const [l, layer] of state.cache.layers.entries()) {
      expect(layer.cKv[9]).toHaveLength(config.kvLoraRank);
      expect(layer.kPe[9]).toHaveLength(config.qkRopeHeadDim);
      expect(relMaxError(layer.cKv[9], full.cache.layers[l].cKv[9])).toBeLessThan(1e-12);
      expect(relMaxError(layer.kPe[9], full.cache.layers[l].kPe[9])).toBeLessThan(1e-12);
    }
  });

  it('keeps activations sane: finite logits of order 1', () => {
    const { logits } = referencePrefill(config, w, randomTokens(config, 16, 6));
    const flat = logits.flat();
    expect(flat.every(Number.isFinite)).toBe(true);
    const rms = Math.sqrt(flat.reduce((a, b) => a + b * b, 0) / flat.length);
    expect(rms).toBeGreaterThan(0.1);
    expect(rms).toBeLessThan(10);
  });

  it('is causal: a later token never changes earlier logits', () => {
    const tokens = randomTokens(config, 6, 7);
    const a = referencePrefill(config, w, tokens);
    const b = referencePrefill(config, w, [...tokens.slice(0, 5), (tokens[5] + 1) % config.vocabSize]);
    expect(b.logits.slice(0, 5)).toEqual(a.logits.slice(0, 5));
    expect(b.logits[5]).not.toEqual(a.logits[5]);
  });

  it('at position 0 attends only to itself, so the queries do not matter there', () => {
    const qName = config.qLoraRank === null ? 'q_proj' : 'q_b_proj';
    const changed = new Map(w);
    for (let l = 0; l < config.numLayers; l++) {
      const name = `model.layers.${l}.self_attn.${qName}.weight`;
      const t = w.get(name)!;
      changed.set(name, { shape: t.shape, data: t.data.map((v) => -v) });
    }
    const tokens = randomTokens(config, 2, 8);
    const a = referencePrefill(config, w, tokens);
    const b = referencePrefill(config, changed, tokens);
    expect(relMaxError(b.logits[0], a.logits[0])).toBeLessThan(1e-12);
    expect(relMaxError(b.logits[1], a.logits[1])).toBeGreaterThan(1e-6);
  });

  it('does not read the MTP layers', () => {
    const main = new Map([...w].filter(([name]) => !/^model\.layers\.(\d+)\./.test(name) || Number(/\d+/.exec(name)![0]) < config.numLayers));
    if (config.numNextnPredictLayers > 0) expect(main.size).toBeLessThan(w.size);
    const tokens = randomTokens(config, 3, 9);
    expect(referencePrefill(config, main, tokens).logits).toEqual(referencePrefill(config, w, tokens).logits);
  });

  it('uses embed_tokens as the head when tie_word_embeddings', () => {
    const tied: ModelConfig = { ...config, tieWordEmbeddings: true };
    const noHead = new Map(w);
    noHead.delete('lm_head.weight');
    const withEmbedHead = new Map<string, RefTensor>(w).set('lm_head.weight', w.get('model.embed_tokens.weight')!);
    const tokens = randomTokens(config, 3, 10);
    const a = referencePrefill(tied, noHead, tokens);
    expect(a.logits).toEqual(referencePrefill(config, withEmbedHead, tokens).logits);
    expect(a.logits).not.toEqual(referencePrefill(config, w, tokens).logits);
  });

  it('W8A8 moves the logits a little, the same way every run', () => {
    const tokens = randomTokens(config, 12, 12);
    const plain = referencePrefill(config, w, tokens).logits.flat();
    const fp8 = referencePrefill(config, w, tokens, { actQuant: 'fp8' }).logits.flat();
    expect(referencePrefill(config, w, tokens, { actQuant: 'fp8' }).logits.flat()).toEqual(fp8);
    const dist = Math.sqrt(fp8.reduce((a, v, i) => a + (v - plain[i]) ** 2, 0) / plain.reduce((a, v) => a + v * v, 0));
    console.log(`${file}: W8A8 vs none, relative L2 distance of the logits ${dist.toExponential(3)}`);
    if (config.quantization === null) {
      expect(dist).toBe(0); // no FP8 linear to quantize for
    } else {
      // Each W8A8 linear is off by ~2 % (linear.test.ts); that compounds over the layers, and a
      // router that flips an expert under the noise moves that token's logits by O(1), so
      // configs with close router scores (tiny-moe-128: several flips in 12 tokens) reach ~0.35.
      expect(dist).toBeGreaterThan(1e-3);
      expect(dist).toBeLessThan(0.5);
    }
  });

  it('with bf16 activations: within the bf16 storage error of float64, bf16 in the cache, and decode (absorbed) near prefill (plain)', () => {
    const tokens = randomTokens(config, 8, 13);
    const bf16 = { activations: 'bf16' } as const;
    const exact = referencePrefill(config, w, tokens);
    const stored = referencePrefill(config, w, tokens, bf16);
    // The plans store ~20 activations a layer as bf16 (relative step 2⁻⁸): about 1e-2 on a row. A
    // router that flips an expert under that noise moves its token's row by O(1), hence the median.
    const rows = stored.logits.map((row, t) => relativeError(row, exact.logits[t])).sort((a, b) => a - b);
    const moved = rows[rows.length >> 1];
    expect(moved).toBeGreaterThan(1e-4);
    expect(moved).toBeLessThan(3e-2);
    for (const layer of stored.cache.layers) for (const row of [...layer.cKv, ...layer.kPe]) expect(row.every((v) => bf16Round(v) === v)).toBe(true);
    // Decode runs the absorbed form, prefill the plain one: the same product, rounded elsewhere.
    const head = referencePrefill(config, w, tokens.slice(0, 6), bf16);
    const step = referenceDecode(config, w, head.cache, tokens[6], 6, bf16);
    const apart = relativeError(step.logits, stored.logits[6]);
    console.log(`${file}: bf16 activations vs float64 per row [${rows.map((r) => r.toExponential(1))}]; absorbed decode vs plain prefill ${apart.toExponential(2)}`);
    expect(apart).toBeGreaterThan(0);
    expect(apart).toBeLessThan(3e-2);
  });

  it('rejects a decode position that is not the cache length', () => {
    const { cache } = referencePrefill(config, w, [1, 2]);
    expect(() => referenceDecode(config, w, cache, 3, 3)).toThrow(/cache holds 2 positions, expected 3/);
  });
});
