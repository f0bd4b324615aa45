/**
 * The end-to-end agreement check of reference-agreement.test.ts as one function, so that the same
 * bounds and routing-probe logic serve the cpu test and the GPU check (benchmarks/gpu-check): a
 * session's prompt logits and 32 teacher-forced greedy tokens against the float64 reference, the
 * routing of every MoE layer compared with the reference's, and the session's own greedy ids.
 * Each failed condition throws an AgreementError naming the row and the figures (the first one
 * ends the check, as an `expect` does in the test).
 *
 * Bounds (‖ours − ref‖ / ‖ref‖ per logits row):
 * - W8A16 (--act-quant none): 3e-2. The reference never rounds; the kernels store every
 *   activation between kernels as bf16 (relative step 2⁻⁸, DeepSeek's own inference precision),
 *   about 20 roundings a layer on the residual path. Observed 0.6–1.4e-2.
 * - W8A8 (fp8): 1.5e-1. Both quantize activations to e4m3 per 1×128 group, but an input that bf16
 *   moved across an e4m3 rounding boundary lands a whole e4m3 step (6%) away; observed 0.7–9e-2.
 *
 * Routing is discrete. The check reads the experts every MoE layer chose in every step
 * (routing-probe.ts) and compares them with the reference's: where they differ, the reference's
 * own decision must have been a near-tie (its margin below ROUTE_TIE, scores being sigmoids in
 * (0, 1)) — otherwise it is a bug — and from that token on every position may legitimately differ
 * (later tokens see it through the cache), so those rows are only checked for being finite. The
 * greedy comparison is teacher-forced (the reference continues from our token); a step may differ
 * from the reference's argmax only where the reference's own top two are within twice the bound
 * (× the row's rms) of each other: each of the two logits may have moved by the row's error scale.
 * ROUTE_TIE is measured, not derived: W8A16 differences were seen up to 3e-2, W8A8 up to 0.11
 * (fp8 rounding flips upstream move router scores a lot); the bounds leave about 2× room.
 */
import type { ModelSession } from '../../runtime/src/index.ts';
import { Rng } from '../reference/prng.ts';
import { referenceDecode, referencePrefill } from '../reference/forward.ts';
import { routingObserver } from '../reference/routing.ts';
import type { Phase, RouteProbe } from './routing-probe.ts';
import { readRoutes } from './routing-probe.ts';
import type { Mode, TinyModel } from './tiny-model.ts';
import { argmax, relativeError, rms } from './tiny-model.ts';

export const BOUND: Record<Mode, number> = { none: 3e-2, fp8: 1.5e-1 };
/** Reference margins below which a different expert choice is a near-tie for the mode's error. */
export const ROUTE_TIE: Record<Mode, number> = { none: 5e-2, fp8: 2e-1 };
export const PROMPT = 12;
export const NEW = 32;
/** Random tiny logits put the top two within 3% of each other in roughly one step in ten; many more differing steps would mean our argmax is systematically off. */
export const MAX_TIES = 8;

export class AgreementError extends Error {
  override name = 'AgreementError';
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new AgreementError(message);
}

export interface Route {
  readonly margin: number;
  readonly experts: number[];
}

/** Runs the reference with its router observed: per MoE layer (in order), per token, the choice. */
export function observed<T>(tokens: number, run: () => T): { result: T; routes: Route[][] } {
  const calls: Route[] = [];
  routingObserver.onRoute = (margin, experts) => calls.push({ margin, experts: [...experts].sort((a, b) => a - b) });
  try {
    const result = run();
    const routes: Route[][] = [];
    for (let i = 0; i < calls.length; i += tokens) routes.push(calls.slice(i, i + tokens));
    return { result, routes };
  } finally {
    routingObserver.onRoute = null;
  }
}

/**
 * The first row (of `rows`) where our routing differs from the reference's, or Infinity. Rows are
 * causal and layers sequential, so the first difference, in row order and then layer order, is the
 * only one with the same inputs on both sides: it must be a near-tie of the reference (else this
 * throws); the later layers of that row and every later row may differ because of it.
 */
export function firstRouteDifference(ours: number[][][], ref: Route[][], rows: number, tie: number, where: string): number {
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

export interface AgreementResult {
  readonly label: string;
  /** Rows compared with the bound (before routing diverged). */
  readonly strict: number;
  readonly rows: number;
  readonly bound: number;
  readonly worst: number;
  /** Greedy steps whose argmax differed from the reference's (near-ties). */
  readonly ties: readonly number[];
  /** The token from which routing differs (a near-tie), or null when identical throughout. */
  readonly divergedAt: number | null;
  readonly summary: string;
}

/**
 * The agreement check on a session over a routing-probe package (routingProbePackage): prompt
 * logits, 32 teacher-forced greedy steps, then the session's greedy generation. Throws
 * AgreementError on the first failure.
 */
export async function checkAgreement(model: TinyModel, mode: Mode, probeSession: ModelSession, probes: Record<Phase, RouteProbe[]>): Promise<AgreementResult> {
  const { config, weights, name } = model;
  const { executor } = probeSession;
  const V = config.vocabSize;
  const rng = new Rng(model.seed ^ 0x5eed);
  const prompt = Array.from({ length: PROMPT }, () => Math.floor(rng.next() * V));
  const label = `${name} ${mode} seed ${model.seed} (replay: DSV3C_TEST_SEED=${model.seed})`;
  const logitsOf = (out: { logits: { memory: { read(v: ArrayBufferView, o: number): void }; byteOffset: number } }, rows: number) => {
    const all = new Float32Array(rows * V);
    out.logits.memory.read(all, out.logits.byteOffset);
    return Array.from({ length: rows }, (_, r) => all.subarray(r * V, (r + 1) * V));
  };
  const routesOf = (phase: Phase, rows: number) => readRoutes(executor, phase, probes[phase], rows);
  const within = (err: number, what: string) => check(err <= BOUND[mode], `${label}: ${what}: relative error ${err} > ${BOUND[mode]}`);

  // Prompt: our logits and routing against the reference's.
  const ourPrompt = logitsOf(executor.prefill(0, prompt, 0), PROMPT);
  const ourPromptRoutes = routesOf('prefill', PROMPT);
  const pre = observed(PROMPT, () => referencePrefill(config, weights, prompt, { actQuant: mode }));
  let divergedAt = firstRouteDifference(ourPromptRoutes, pre.routes, PROMPT, ROUTE_TIE[mode], `${label} prompt`);
  let strict = 0;
  let worst = 0;
  ourPrompt.forEach((row, t) => {
    check(row.every(Number.isFinite), `${label}: prompt row ${t} is not finite`);
    if (t >= divergedAt) return;
    const err = relativeError(row, pre.result.logits[t]);
    within(err, `prompt row ${t}`);
    worst = Math.max(worst, err);
    strict++;
  });

  // Greedy, teacher-forced: the reference continues from our token at each step.
  const ids: number[] = [];
  const ties: number[] = [];
  let cache = pre.result.cache;
  let ref = pre.result.logits[PROMPT - 1];
  let ours = ourPrompt[PROMPT - 1];
  for (let k = 0; k < NEW; k++) {
    check(ours.every(Number.isFinite), `${label}: step ${k} is not finite`);
    const id = argmax(ours);
    ids.push(id);
    if (divergedAt === Infinity) {
      const err = relativeError(ours, ref);
      within(err, `step ${k} logits`);
      worst = Math.max(worst, err);
      strict++;
      const best = argmax(ref);
      if (id !== best) {
        const gap = ref[best] - ref[id];
        check(gap <= 2 * BOUND[mode] * rms(ref), `${label}: step ${k} picked ${id}, the reference ${best} (gap ${gap} > ${2 * BOUND[mode] * rms(ref)})`);
        ties.push(k);
      }
    }
    const next = observed(1, () => referenceDecode(config, weights, cache, id, PROMPT + k, { actQuant: mode }));
    ours = logitsOf(executor.decode([id], [PROMPT + k]), 1)[0];
    if (divergedAt === Infinity && firstRouteDifference(routesOf('decode', 1), next.routes, 1, ROUTE_TIE[mode], `${label} step ${k}`) === 0) divergedAt = PROMPT + k;
    cache = next.result.cache;
    ref = next.result.logits;
  }
  const summary = `${label}: ${strict}/${PROMPT + NEW} rows within ${BOUND[mode]} (worst ${worst.toExponential(2)}), near-tie greedy steps [${ties.join(', ')}], routing ${divergedAt === Infinity ? 'identical throughout' : `differs (a near-tie) from token ${divergedAt}`}`;
  check(ties.length <= MAX_TIES, `${label}: ${ties.length} near-tie greedy steps, at most ${MAX_TIES} expected (near-ties should be rare)`);

  // The session's greedy generation (sampler kernel, stop ids off) picks the same tokens.
  const generated: number[] = [];
  for await (const t of probeSession.generate(prompt, { maxNewTokens: NEW, stopIds: [] })) generated.push(t.id);
  check(generated.join() === ids.join(), `${label}: the session generated [${generated}], the steps picked [${ids}]`);
  return { label, strict, rows: PROMPT + NEW, bound: BOUND[mode], worst, ties, divergedAt: divergedAt === Infinity ? null : divergedAt, summary };
}
