/**
 * The end-to-end agreement check of reference-agreement.test.ts as one function, so that the same
 * bounds and routing-probe logic serve the cpu test and the GPU check (benchmarks/gpu-check): a
 * session's prompt logits and 32 teacher-forced greedy tokens against the float64 reference, the
 * routing of every MoE layer compared with the reference's, and the session's own greedy ids.
 * Each failed condition throws an AgreementError naming the row and the figures (the first one
 * ends the check, as an `expect` does in the test).
 *
 * This is the precision check: how far the stored bf16/fp8 activations take the logits from the
 * exact model. On the cpu target exact-agreement.ts adds the identity check (the same prompt, the
 * reference with activations stored as bf16: logits bit for bit, greedy tokens identical); GPU
 * kernels accumulate in fp32, so there only this check applies.
 *
 * Routing is discrete: at a near-tie the two sides may choose different experts, and everything
 * after (that token's later layers, later tokens through the cache) would then differ by far more
 * than the bound. So the reference follows the kernels: each step runs ours first, reads the
 * experts every MoE layer chose (routing-probe.ts), then runs the reference's step with its router
 * steered to our choice (routingObserver.choose) where the two differ. A difference must be a
 * near-tie of the reference (its margin below ROUTE_TIE, scores being sigmoids in (0, 1)), else it
 * is a bug. The followed experts are weighed by the reference's own scores, so both sides make the
 * same discrete decisions and every row is held to the bound.
 *
 * Bounds (‖ours − ref‖ / ‖ref‖ per logits row: all 12 prompt rows and the row of each of the 32
 * greedy tokens; observed figures are from the cpu target, 9 to 40 seeds a config, with fp32
 * kernels; its kernels now compute in double, and 18 seeds a config gave W8A16 up to 2.1e-2 and
 * W8A8 up to 0.138, at most 11 near-tie greedy steps in a run):
 * - W8A16 (--act-quant none): 3e-2. The reference never rounds; the kernels store every
 *   activation between kernels as bf16 (relative step 2⁻⁸, DeepSeek's own inference precision),
 *   about 20 roundings a layer on the residual path. Observed up to 2.0e-2.
 * - W8A8 (fp8): 2e-1. Both quantize activations to e4m3 per 1×128 group, but an input that bf16
 *   moved across an e4m3 rounding boundary lands a whole e4m3 step (6–12%) away, which redraws
 *   much of the quantization noise: rounding each quantized input of the reference to bf16 once
 *   (routing held) moves its logits by a median 8.7e-2, up to 0.166 (tiny-moe-128, 372 rows), as
 *   far as W8A8 is from W8A16 (up to 0.14). Ours: median 6–8e-2, up to 0.165 (tiny-moe-128).
 * The greedy comparison is teacher-forced (the reference continues from our token). A step may
 * pick differently from the reference's argmax only at a near-tie: the reference's gap between
 * the two is within TIE_SIGMAS standard deviations of the difference of two logits' errors,
 * √2 · err · rms(ref) for the row's measured error err. Of ~230 flips, the largest was 2.8 σ.
 * ROUTE_TIE is measured, not derived: the reference followed near-ties of margin up to 5e-3
 * (W8A16) and 7.5e-2 (W8A8; fp8 rounding flips upstream move router scores a lot).
 */
import type { ModelSession } from '../../runtime/src/index.ts';
import { Rng } from '../reference/prng.ts';
import { referenceDecode, referencePrefill } from '../reference/forward.ts';
import { routingObserver } from '../reference/routing.ts';
import type { Phase, RouteProbe } from './routing-probe.ts';
import { readRoutes } from './routing-probe.ts';
import type { Mode, TinyModel } from './tiny-model.ts';
import { argmax, relativeError, rms } from './tiny-model.ts';

export const BOUND: Record<Mode, number> = { none: 3e-2, fp8: 2e-1 };
/** Reference margins below which a different expert choice is a near-tie for the mode's error. */
export const ROUTE_TIE: Record<Mode, number> = { none: 5e-2, fp8: 2e-1 };
export const PROMPT = 12;
export const NEW = 32;
/** A greedy pick may differ from the reference's where their gap is within this many σ of the logits' error (a 4σ event: 6e-5 per pair). */
export const TIE_SIGMAS = 4;
/**
 * At most this many of the 32 greedy steps may pick differently (near-ties); many more would mean
 * our argmax is systematically off. Random tiny logits have their top two within 0.1 × rms in a
 * fifth to a quarter of steps: W8A16 (error ~1e-2) flipped at most 3 steps a run, W8A8 (~8e-2)
 * up to 9 (tiny-moe-128).
 */
export const MAX_TIES: Record<Mode, number> = { none: 8, fp8: 16 };

/** The check's prompt: PROMPT random ids drawn from the model's seed. */
export function agreementPrompt(model: TinyModel): number[] {
  const rng = new Rng(model.seed ^ 0x5eed);
  return Array.from({ length: PROMPT }, () => Math.floor(rng.next() * model.config.vocabSize));
}

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
 * Runs the reference for one step of `rows` tokens with its router following ours (ours[layer][row],
 * probed MoE layers in order; the reference routes layer by layer, row by row within a layer).
 * Where its own choice differs it must be a near-tie (margin below `tie`), else this throws; it then
 * takes ours. Returns the run's result and how many of its router decisions followed ours.
 */
export function following<T>(ours: number[][][], rows: number, tie: number, where: string, run: () => T): { result: T; followed: number; decisions: number } {
  let call = 0;
  let followed = 0;
  routingObserver.choose = (margin, own) => {
    const layer = Math.floor(call / rows);
    const row = call % rows;
    call++;
    const want = ours[layer]?.[row];
    check(want !== undefined, `${where}: the reference routed more than the ${ours.length} probed MoE layers × ${rows} rows`);
    const theirs = [...own].sort((a, b) => a - b);
    if (want.join() === theirs.join()) return own;
    check(margin < tie, `${where}: MoE layer ${layer} row ${row} chose experts [${want}], the reference [${theirs}] with margin ${margin.toExponential(2)} (a near-tie is below ${tie})`);
    followed++;
    return want;
  };
  try {
    const result = run();
    check(call === ours.length * rows, `${where}: the reference routed ${call} times, the probe read ${ours.length} MoE layers × ${rows} rows`);
    return { result, followed, decisions: call };
  } finally {
    routingObserver.choose = null;
  }
}

export interface AgreementResult {
  readonly label: string;
  /** Logits rows compared with the bound: every prompt row, then the row of every greedy token. */
  readonly rows: number;
  readonly bound: number;
  readonly worst: number;
  /** Greedy steps whose argmax differed from the reference's (near-ties). */
  readonly ties: readonly number[];
  /** Router decisions (MoE layer × token) where the reference followed ours: near-ties it decided otherwise. */
  readonly followed: number;
  /** Router decisions in all (MoE layers × tokens run). */
  readonly decisions: number;
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
  const prompt = agreementPrompt(model);
  const label = `${name} ${mode} seed ${model.seed} (replay: DSV3C_TEST_SEED=${model.seed})`;
  const logitsOf = (out: { logits: { memory: { read(v: ArrayBufferView, o: number): void }; byteOffset: number } }, rows: number) => {
    const all = new Float32Array(rows * V);
    out.logits.memory.read(all, out.logits.byteOffset);
    return Array.from({ length: rows }, (_, r) => all.subarray(r * V, (r + 1) * V));
  };
  // Ours runs a step first; the reference then runs it following the routes ours took.
  let followed = 0;
  let decisions = 0;
  const reference = <T>(phase: Phase, rows: number, where: string, run: () => T): T => {
    const r = following(readRoutes(executor, phase, probes[phase], rows), rows, ROUTE_TIE[mode], `${label} ${where}`, run);
    followed += r.followed;
    decisions += r.decisions;
    return r.result;
  };
  let worst = 0;
  let worstAt = '';
  /** Checks a row against the bound; returns its relative error. */
  const compare = (ours: Float32Array, ref: ArrayLike<number>, what: string): number => {
    check(ours.every(Number.isFinite), `${label}: ${what} is not finite`);
    const err = relativeError(ours, ref);
    check(err <= BOUND[mode], `${label}: ${what}: relative error ${err} > ${BOUND[mode]}`);
    if (err > worst) [worst, worstAt] = [err, what];
    return err;
  };

  const ourPrompt = logitsOf(executor.prefill(0, prompt, 0), PROMPT);
  const pre = reference('prefill', PROMPT, 'prompt', () => referencePrefill(config, weights, prompt, { actQuant: mode }));
  const promptErrors = ourPrompt.map((row, t) => compare(row, pre.logits[t], `prompt row ${t}`));

  // Greedy, teacher-forced: the reference continues from our token at each step.
  const ids: number[] = [];
  const ties: number[] = [];
  let cache = pre.cache;
  let ref = pre.logits[PROMPT - 1];
  let ours = ourPrompt[PROMPT - 1];
  let err = promptErrors[PROMPT - 1];
  for (let k = 0; k < NEW; k++) {
    const id = argmax(ours);
    ids.push(id);
    const best = argmax(ref);
    if (id !== best) {
      const gap = ref[best] - ref[id];
      const sigma = Math.SQRT2 * err * rms(ref);
      check(gap <= TIE_SIGMAS * sigma, `${label}: step ${k} picked ${id}, the reference ${best}: gap ${gap.toExponential(2)} is ${(gap / sigma).toFixed(1)} σ of the row's error (at most ${TIE_SIGMAS})`);
      ties.push(k);
    }
    ours = logitsOf(executor.decode([id], [PROMPT + k]), 1)[0];
    const next = reference('decode', 1, `step ${k}`, () => referenceDecode(config, weights, cache, id, PROMPT + k, { actQuant: mode }));
    err = compare(ours, next.logits, `step ${k}'s row (position ${PROMPT + k})`);
    cache = next.cache;
    ref = next.logits;
  }
  const summary = `${label}: all ${PROMPT + NEW} rows within ${BOUND[mode]} (worst ${worst.toExponential(2)}, ${worstAt}), near-tie greedy steps [${ties.join(', ')}], reference followed our routing at ${followed} of ${decisions} router decisions (near-ties)`;
  check(ties.length <= MAX_TIES[mode], `${label}: ${ties.length} near-tie greedy steps, at most ${MAX_TIES[mode]} expected (near-ties should be rare)`);

  // The session's greedy generation (sampler kernel, stop ids off) picks the same tokens.
  const generated: number[] = [];
  for await (const t of probeSession.generate(prompt, { maxNewTokens: NEW, stopIds: [] })) generated.push(t.id);
  check(generated.join() === ids.join(), `${label}: the session generated [${generated}], the steps picked [${ids}]`);
  return { label, rows: PROMPT + NEW, bound: BOUND[mode], worst, ties, followed, decisions, summary };
}
