/**
 * Mesh packages end to end on the cpu target: tp=2 (tensor parallel) and ep=2 (expert parallel)
 * ranks in one process, each with its slices of the weights and its experts read from the
 * checkpoint, stepped together with host collectives.
 * It is held to the same check as one rank (agreement.ts): prompt logits and 32 greedy steps
 * within 3e-2 (W8A16) / 2e-1 (W8A8) of the float64 reference, routing differing only at
 * near-ties. The ranks' row-parallel partial sums are stored as bf16 before the all_reduce adds
 * them (as DeepSeek's and vLLM's bf16 all-reduce does), one rounding more per layer than one rank,
 * so the cpu target is no longer bit-identical to the bf16 reference; against the one-rank
 * package, W8A16 prompt logits stay within that bound too (observed ~1e-2), on the rows before
 * the first router near-tie the two decided differently.
 * Expert parallelism moves no rounding for the routed experts (each expert is computed whole on
 * one rank) but adds the same bf16 partial sums at the MoE all_reduce.
 * tiny-tp2 is FP8 with every rank's slice whole 128×128 blocks; tiny-bf16-dense1 is bf16.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mesh } from '../../compiler/config/mesh.ts';
import { formatMesh } from '../../compiler/config/mesh.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import type { ModelSession } from '../../runtime/src/index.ts';
import { Rng } from '../reference/prng.ts';
import { BOUND, checkAgreement } from './agreement.ts';
import type { Phase, RouteProbe } from './routing-probe.ts';
import { readRoutes, routingProbePackage } from './routing-probe.ts';
import type { Mode, TinyModel } from './tiny-model.ts';
import { cpuPackage, makeTinyModel, openSession, relativeError, tempRoot } from './tiny-model.ts';

const root = tempRoot('dsv3c-tp-');
const CASES: [string, Mesh][] = [
  ['tiny-tp2', { tp: 2, ep: 1 }],
  ['tiny-tp2', { tp: 1, ep: 2 }],
  ['tiny-bf16-dense1', { tp: 2, ep: 1 }],
  ['tiny-bf16-dense1', { tp: 1, ep: 2 }],
];

describe.each(CASES.map(([name, mesh]) => [name, formatMesh(mesh), mesh] as const))('%s over %s on the cpu target', (name, where, MESH) => {
  let model: TinyModel;
  const dir = join(root, `tp${MESH.tp}-ep${MESH.ep}`); // a checkpoint and packages of its own
  beforeAll(async () => {
    model = await makeTinyModel(name, dir);
  }, 120_000);

  // A bf16 checkpoint has no FP8 linears: --act-quant fp8 would run the same model again.
  const modes: Mode[] = loadConfig(`configs/${name}.json`).quantization ? ['none', 'fp8'] : ['none'];
  describe.each(modes)('act-quant %s', (mode: Mode) => {
    let session: ModelSession;
    let probeSession: ModelSession;
    let single: ModelSession;
    let probes: Record<Phase, RouteProbe[]>;
    let singleProbes: Record<Phase, RouteProbe[]>;
    beforeAll(async () => {
      const pkg = await cpuPackage(model, mode, dir, MESH);
      session = await openSession(pkg, model);
      probes = routingProbePackage(pkg, `${pkg}-probe`);
      probeSession = await openSession(`${pkg}-probe`, model);
      const one = await cpuPackage(model, mode, dir);
      singleProbes = routingProbePackage(one, `${one}-probe`);
      single = await openSession(`${one}-probe`, model);
    }, 300_000);
    afterAll(() => {
      session?.dispose();
      probeSession?.dispose();
      single?.dispose();
    });

    it('is within the bound of the float64 reference: prompt logits and 32 greedy steps', async () => {
      const result = await checkAgreement(model, mode, probeSession, probes);
      console.log(`${where} ${result.summary}`);
    }, 300_000);

    it('prompt logits near the one-rank package\'s, up to the first router near-tie that went the other way', () => {
      const rng = new Rng(model.seed ^ 0x7e2);
      const prompt = Array.from({ length: 9 }, () => Math.floor(rng.next() * model.config.vocabSize));
      const V = model.config.vocabSize;
      const run = (s: ModelSession, p: Record<Phase, RouteProbe[]>) => {
        const out = s.executor.prefill(0, prompt, 0);
        const all = new Float32Array(prompt.length * V);
        out.logits.memory.read(all, out.logits.byteOffset);
        const routes = readRoutes(s.executor, 'prefill', p.prefill, prompt.length);
        return { rows: Array.from({ length: prompt.length }, (_, t) => all.subarray(t * V, (t + 1) * V)), routes };
      };
      const [split, whole] = [run(probeSession, probes), run(single, singleProbes)];
      // Rows are causal: from the first row where some layer chose other experts, the two compute different things.
      let same = prompt.length;
      split.routes.forEach((layer, l) => layer.forEach((experts, t) => experts.join() !== whole.routes[l][t].join() && (same = Math.min(same, t))));
      const errors = split.rows.slice(0, same).map((row, t) => relativeError(row, whole.rows[t]));
      console.log(`${name} ${mode} ${where} vs one rank: ${same} of ${prompt.length} prompt rows routed alike, within ${Math.max(0, ...errors).toExponential(2)}`);
      // W8A8 redraws fp8 codes wherever bf16 moved an input across a rounding boundary: the reference agreement above is its check.
      if (mode === 'none') errors.forEach((e, t) => expect(e, `row ${t}`).toBeLessThanOrEqual(BOUND.none));
    });

    it('a batch of sequences of different lengths equals each run alone', async () => {
      const rng = new Rng(model.seed ^ 0xba7c4);
      const prompts = [3, 9, 6].map((n) => Array.from({ length: n }, () => Math.floor(rng.next() * model.config.vocabSize)));
      const options = { maxNewTokens: 5, stopIds: [] as number[], temperature: 0.9, topP: 0.9, seed: 77 };
      const batch = prompts.map(() => [] as number[]);
      for await (const t of session.generateBatch(prompts, options)) batch[t.sequence].push(t.id);
      for (let i = 0; i < prompts.length; i++) {
        const alone: number[] = [];
        for await (const t of session.generate(prompts[i], { ...options, seed: options.seed + i })) alone.push(t.id);
        expect(batch[i], `sequence ${i}`).toEqual(alone);
      }
    }, 120_000);
  });
});
