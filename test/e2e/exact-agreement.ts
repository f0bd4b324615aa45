/**
 * The cpu target against the reference with activations stored as bf16 (RefOptions.activations,
 * test/reference/context.ts). The cpu kernels do their arithmetic in double and round only where
 * the plan stores a tensor (bf16 activations, fp8 codes with float32 scales, float32 router
 * weights and logits), so both sides store the same values: they can differ only where two
 * float64 computations in a different order land on opposite sides of a rounding boundary, about
 * 1e-13 per stored value. The logits therefore agree to float32 (EXACT_BOUND; observed: bit for
 * bit), and the greedy tokens, each side running free on its own argmax, are identical: no
 * near-tie allowance and no steering of the reference's router. A pass that changes where the
 * plans store a tensor (a new fusion) changes the precision contract: the reference's stored()
 * calls must move with it, and this check says so first.
 */
import type { ModelSession } from '../../runtime/src/index.ts';
import { referenceDecode, referencePrefill, type RefOptions } from '../reference/forward.ts';
import { AgreementError, agreementPrompt, NEW, PROMPT } from './agreement.ts';
import type { Mode, TinyModel } from './tiny-model.ts';
import { argmax, relativeError } from './tiny-model.ts';

/** ‖ours − ref‖ / ‖ref‖ per logits row: a few float32 steps, the precision both store logits in. */
export const EXACT_BOUND = 1e-6;

export interface ExactResult {
  /** The 32 greedy ids, the same on both sides. */
  readonly ids: readonly number[];
  readonly worst: number;
  readonly summary: string;
}

/** Prompt logits, then NEW greedy tokens from the session's generator, against the reference. */
export async function checkIdentical(model: TinyModel, mode: Mode, session: ModelSession): Promise<ExactResult> {
  const { config, weights } = model;
  const opts: RefOptions = { actQuant: mode, activations: 'bf16' };
  const label = `${model.name} ${mode} seed ${model.seed} (replay: DSV3C_TEST_SEED=${model.seed})`;
  const prompt = agreementPrompt(model);
  const promptRows: Float32Array[] = [];
  const generatedRows: Float32Array[] = [];
  const ids: number[] = [];
  const onLogits = (_s: number, kind: 'prompt' | 'generated', row: Float32Array) => (kind === 'prompt' ? promptRows : generatedRows).push(Float32Array.from(row));
  for await (const t of session.generate(prompt, { maxNewTokens: NEW, stopIds: [], onLogits })) ids.push(t.id);

  let worst = 0;
  const compare = (ours: Float32Array | undefined, ref: ArrayLike<number>, what: string) => {
    if (!ours) throw new AgreementError(`${label}: the session gave no logits for ${what}`);
    const err = relativeError(ours, ref);
    if (!(err <= EXACT_BOUND)) throw new AgreementError(`${label}: ${what}: relative error ${err} > ${EXACT_BOUND} against the reference with bf16 activations`);
    worst = Math.max(worst, err);
  };
  const pre = referencePrefill(config, weights, prompt, opts);
  pre.logits.forEach((row, t) => compare(promptRows[t], row, `prompt row ${t}`));
  const refIds: number[] = [];
  let { cache } = pre;
  let row = pre.logits[PROMPT - 1];
  for (let k = 0; k < NEW; k++) {
    const id = argmax(row);
    refIds.push(id);
    if (ids[k] !== id) throw new AgreementError(`${label}: greedy token ${k} is ${ids[k]}, the reference's ${id} (tokens before it [${refIds.slice(0, k)}])`);
    if (k + 1 === NEW) break;
    const next = referenceDecode(config, weights, cache, id, PROMPT + k, opts);
    compare(generatedRows[k + 1], next.logits, `the row after greedy token ${k}`);
    cache = next.cache;
    row = next.logits;
  }
  const summary = `${label}: ${PROMPT} prompt rows and ${NEW} greedy tokens identical to the reference with bf16 activations (worst row ${worst.toExponential(2)}), tokens [${ids}]`;
  return { ids, worst, summary };
}
