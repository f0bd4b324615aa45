/**
 * End to end on the cpu target, for every tiny config and both activation modes: the compiled
 * package's prompt logits and 32 greedy tokens against the independent float64 reference
 * (test/reference), on a fresh random checkpoint and prompt each run.
 *
 * The bounds and the routing logic of the main check live in agreement.ts (shared with the GPU
 * check, benchmarks/gpu-check): ‖ours − ref‖ / ‖ref‖ within 3e-2 (W8A16) or 2e-1 (W8A8) on every
 * logits row, the reference following our experts where its router was at a near-tie.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSession } from '../../runtime/src/index.ts';
import { Rng } from '../reference/prng.ts';
import { referencePrefill } from '../reference/forward.ts';
import { TINY_CONFIGS } from '../codegen/support.ts';
import { BOUND, checkAgreement, observed } from './agreement.ts';
import { checkIdentical } from './exact-agreement.ts';
import type { Phase, RouteProbe } from './routing-probe.ts';
import { routingProbePackage } from './routing-probe.ts';
import type { Mode, TinyModel } from './tiny-model.ts';
import { cpuPackage, makeTinyModel, openSession, relativeError, tempRoot } from './tiny-model.ts';

/** For the decode-vs-recompute test, which has no probe: tokens whose reference margin is below this may route differently on the two paths. */
const KNIFE: Record<Mode, number> = { none: 1e-2, fp8: 3e-2 };

/** The first token whose reference routing margin is below `knife`, or Infinity. */
function withKnife<T>(tokens: number, knife: number, run: () => T): { result: T; knifeAt: number } {
  const { result, routes } = observed(tokens, run);
  let knifeAt = Infinity;
  for (const layer of routes) layer.forEach((r, t) => r.margin < knife && (knifeAt = Math.min(knifeAt, t)));
  return { result, knifeAt };
}

const root = tempRoot('dsv3c-e2e-');

describe.each(TINY_CONFIGS.map((f) => f.replace(/\.json$/, '')))('%s on the cpu target', (name) => {
  let model: TinyModel;
  const packages = new Map<Mode, string>();
  beforeAll(async () => {
    model = await makeTinyModel(name, root);
    for (const mode of ['none', 'fp8'] as const) packages.set(mode, await cpuPackage(model, mode, root));
  }, 600_000);

  describe.each(['none', 'fp8'] as const)('act-quant %s', (mode) => {
    let session: ModelSession;
    let probeSession: ModelSession;
    let probes: Record<Phase, RouteProbe[]>;
    beforeAll(async () => {
      session = await openSession(packages.get(mode)!, model);
      probes = routingProbePackage(packages.get(mode)!, `${packages.get(mode)!}-probe`);
      probeSession = await openSession(`${packages.get(mode)!}-probe`, model);
    }, 120_000);
    afterAll(() => {
      session?.dispose();
      probeSession?.dispose();
    });

    it('is within the bound of the float64 reference: prompt logits and 32 greedy steps', async () => {
      const result = await checkAgreement(model, mode, probeSession, probes);
      console.log(result.summary);
    }, 300_000);

    it('equals the reference with bf16 activations: prompt logits, and 32 greedy tokens identical', async () => {
      const result = await checkIdentical(model, mode, session);
      console.log(result.summary);
    }, 300_000);

    it('decode over the cache equals prefilling the whole sequence', async () => {
      const rng = new Rng(model.seed ^ 0xcafe);
      const prompt = Array.from({ length: 5 }, () => Math.floor(rng.next() * model.config.vocabSize));
      const ids: number[] = [];
      const decoded: Float32Array[] = [];
      for await (const t of session.generate(prompt, { maxNewTokens: 6, stopIds: [], onLogits: (_s, kind, row) => kind === 'generated' && decoded.push(Float32Array.from(row)) })) ids.push(t.id);
      const V = model.config.vocabSize;
      const { knifeAt } = withKnife(prompt.length + ids.length, KNIFE[mode], () => referencePrefill(model.config, model.weights, [...prompt, ...ids], { actQuant: mode }));
      for (let k = 1; k < ids.length; k++) {
        // Row 1 of the KV cache: the whole sequence so far in one prefill; its last row predicts token k.
        const seq = [...prompt, ...ids.slice(0, k)];
        const out = session.executor.prefill(1, seq, 0);
        const last = new Float32Array(V);
        out.logits.memory.read(last, out.logits.byteOffset + (seq.length - 1) * V * 4);
        if (seq.length - 1 >= knifeAt) continue;
        expect(relativeError(last, decoded[k]), `step ${k}`).toBeLessThanOrEqual(BOUND[mode]);
      }
    }, 120_000);

    it('a batch of sequences of different lengths equals each run alone', async () => {
      const rng = new Rng(model.seed ^ 0xba7c4);
      const prompts = [3, 9, 6].map((n) => Array.from({ length: n }, () => Math.floor(rng.next() * model.config.vocabSize)));
      const options = { maxNewTokens: 5, stopIds: [] as number[], temperature: 0.9, topP: 0.9, seed: 77 };
      const batch = new Map<number, { ids: number[]; logits: Float32Array[] }>(prompts.map((_, i) => [i, { ids: [], logits: [] }]));
      for await (const t of session.generateBatch(prompts, { ...options, onLogits: (s, kind, row) => kind === 'generated' && batch.get(s)!.logits.push(Float32Array.from(row)) })) batch.get(t.sequence)!.ids.push(t.id);
      for (let i = 0; i < prompts.length; i++) {
        const alone: { ids: number[]; logits: Float32Array[] } = { ids: [], logits: [] };
        // Sequence i of a batch draws with seed + i: give the solo run that seed.
        for await (const t of session.generate(prompts[i], { ...options, seed: options.seed + i, onLogits: (_s, kind, row) => kind === 'generated' && alone.logits.push(Float32Array.from(row)) })) alone.ids.push(t.id);
        expect(batch.get(i)!.ids, `sequence ${i}`).toEqual(alone.ids);
        alone.logits.forEach((row, k) => expect(relativeError(batch.get(i)!.logits[k], row), `sequence ${i} step ${k}`).toBeLessThanOrEqual(1e-6));
      }
    }, 120_000);

    // The paged KV cache does not depend on the activation mode: once per config.
    it.runIf(mode === 'none')('sequences that finish give their KV pages back; later sequences reuse them and generate what a fresh session does', async () => {
      const V = model.config.vocabSize;
      const rng = new Rng(model.seed ^ 0x9a6e5);
      const prompt = (n: number) => Array.from({ length: n }, () => Math.floor(rng.next() * V));
      const first = [3, 9, 6].map(prompt);
      const second = [7, 2, 5].map(prompt);
      const options = { maxNewTokens: 8, stopIds: [] as number[], temperature: 0.9, topP: 0.9, seed: 5 };
      // maxContext 12: the 9-token prompt ends at the context after 4 tokens, the 6-token one after 7, the 3-token one at maxNewTokens.
      // The default pool is just enough for three whole sequences: 3 × 12 positions, 9 pages of 4.
      const load = () => openSession(packages.get(mode)!, model, { maxContext: 12, maxBatch: 3, kvPageSize: 4 });
      const run = async (s: ModelSession, prompts: number[][], firstPages: number[][]) => {
        const ids = prompts.map(() => [] as number[]);
        const onLogits = (seq: number, kind: string) => kind === 'generated' && ids[seq].length === 0 && (firstPages[seq] = [...s.executor.pages.pagesOf(seq)]);
        for await (const t of s.generateBatch(prompts, { ...options, onLogits })) {
          ids[t.sequence].push(t.id);
          if (t.finishReason) expect(s.executor.pages.pagesOf(t.sequence), `sequence ${t.sequence} ended`).toEqual([]);
        }
        expect(s.executor.pages.freePages).toBe(s.executor.pages.pages);
        return ids;
      };
      const reused = await load();
      const fresh = await load();
      try {
        expect(reused.executor.pages.pages).toBe(9);
        const a = await run(reused, first, []);
        expect(a.map((x) => x.length)).toEqual([8, 4, 7]);
        const reusedPages: number[][] = [];
        const freshPages: number[][] = [];
        const b = await run(reused, second, reusedPages);
        expect(await run(fresh, second, freshPages)).toEqual(b);
        // The first batch's pages came back in another order: the same sequences sit on other pool rows.
        expect(reusedPages).not.toEqual(freshPages);

        // A pool of 2 pages: a 9-token prompt does not fit, says so, and leaves the pool whole for the next.
        const small = await openSession(packages.get(mode)!, model, { maxContext: 12, maxBatch: 3, kvPageSize: 4, kvPositions: 8 });
        try {
          await expect(async () => {
            for await (const _ of small.generate(first[1], options));
          }).rejects.toThrow(/the KV cache is full: sequence 0 needs 3 more pages of 4 positions for 9 positions, 2 of 2 are free/);
          expect(small.executor.pages.freePages).toBe(2);
          const short: number[] = [];
          for await (const t of small.generate(first[0], { ...options, maxNewTokens: 6 })) short.push(t.id);
          expect(short).toEqual(a[0].slice(0, 6));
        } finally {
          small.dispose();
        }
      } finally {
        reused.dispose();
        fresh.dispose();
      }
    }, 120_000);
  });
});
