/**
 * Hugging Face transformers' DeepseekV3ForCausalLM as a third opinion: fixtures written by
 * benchmarks/peers/hf_golden.py (float32, dequantized weights, on a machine with PyTorch) hold its
 * logits for fixed prompts on a make-tiny checkpoint named by config and seed. Here the same
 * checkpoint is made again (its sha256s must match, or make-tiny changed and the fixture is stale),
 * and both the float64 reference and the cpu target (W8A16) are compared with it:
 * - reference vs HF: 1e-4 relative per row (float32 against float64), which pins the reference's
 *   reading of the model to HF's;
 * - cpu target vs HF: the W8A16 bound of the reference agreement test (3e-2, bf16 activations), on
 *   rows before the first token where the package routed differently from the reference (a
 *   near-tie, else an error; HF cannot be steered to follow our experts as the reference is in
 *   agreement.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { referencePrefill } from '../reference/forward.ts';
import type { Route } from './agreement.ts';
import { AgreementError, BOUND, ROUTE_TIE, observed } from './agreement.ts';
import { readRoutes, routingProbePackage } from './routing-probe.ts';
import { cpuPackage, makeTinyModel, openSession, relativeError, tempRoot } from './tiny-model.ts';

interface Fixture {
  config: string;
  seed: number;
  checkpoint_sha256: Record<string, string>;
  transformers: string;
  prompts: number[][];
  logits: number[][][];
}

const DIR = 'test/fixtures/hf-golden';
const fixtures = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.json')).sort() : [];

/**
 * The first row (of `rows`) where our routing differs from the reference's, or Infinity. HF cannot
 * be steered, so its rows from there on are not compared. Rows are causal and layers sequential,
 * so the first difference, in row order and then layer order, is the only one with the same inputs
 * on both sides: it must be a near-tie of the reference (else this throws).
 */
function firstRouteDifference(ours: number[][][], ref: Route[][], rows: number, tie: number, where: string): number {
  for (let r = 0; r < rows; r++) {
    for (let l = 0; l < ours.length; l++) {
      const want = ref[l][r];
      if (ours[l][r].join() === want.experts.join()) continue;
      if (!(want.margin < tie)) throw new AgreementError(`${where}: MoE layer ${l} row ${r} chose experts [${ours[l][r]}], the reference [${want.experts}] with margin ${want.margin.toExponential(2)} (not a near-tie)`);
      return r;
    }
  }
  return Infinity;
}

describe('HF transformers golden logits', () => {
  if (fixtures.length === 0) {
    it.skip('no fixture yet: run benchmarks/peers/hf_golden.py where PyTorch and transformers are installed (the GPU machine) and commit its output under test/fixtures/hf-golden/', () => {});
    return;
  }
  it.each(fixtures)('%s: the reference and the cpu target agree with HF', async (file) => {
    const fixture = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Fixture;
    const root = tempRoot('dsv3c-hf-');
    const model = await makeTinyModel(fixture.config, root, fixture.seed);
    for (const [name, sum] of Object.entries(fixture.checkpoint_sha256)) {
      const got = createHash('sha256').update(readFileSync(join(model.checkpoint, name))).digest('hex');
      expect(got, `${name}: make-tiny no longer writes the checkpoint ${file} was made from; regenerate the fixture`).toBe(sum);
    }
    const pkg = await cpuPackage(model, 'none', root);
    const probes = routingProbePackage(pkg, `${pkg}-probe`);
    const session = await openSession(`${pkg}-probe`, model);
    try {
      fixture.prompts.forEach((prompt, p) => {
        const hf = fixture.logits[p];
        const ref = observed(prompt.length, () => referencePrefill(model.config, model.weights, prompt, { actQuant: 'none' }));
        ref.result.logits.forEach((row, t) => expect(relativeError(row, hf[t]), `${file} prompt ${p} row ${t}: reference vs HF`).toBeLessThanOrEqual(1e-4));

        const V = model.config.vocabSize;
        const out = session.executor.prefill(0, prompt, 0);
        const ours = new Float32Array(prompt.length * V);
        out.logits.memory.read(ours, out.logits.byteOffset);
        const diverged = firstRouteDifference(readRoutes(session.executor, 'prefill', probes.prefill, prompt.length), ref.routes, prompt.length, ROUTE_TIE.none, `${file} prompt ${p}`);
        for (let t = 0; t < Math.min(prompt.length, diverged); t++) {
          expect(relativeError(ours.subarray(t * V, (t + 1) * V), hf[t]), `${file} prompt ${p} row ${t}: cpu target vs HF`).toBeLessThanOrEqual(BOUND.none);
        }
      });
    } finally {
      session.dispose();
    }
  }, 600_000);
});
