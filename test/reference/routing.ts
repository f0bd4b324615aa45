import type { ModelConfig } from '../../compiler/config/model-config.ts';

/**
 * DeepSeek-V3's noaux_tc router for one token, from REFERENCE.md. The bias only chooses; the
 * weights come from the unbiased scores. Dropped groups are masked to −inf, so an expert of a
 * dropped group can never beat a kept one, however negative its biased score. Ties go to the
 * lower index everywhere.
 */
export interface RouteParams {
  readonly topK: number;
  readonly nGroup: number;
  readonly topkGroup: number;
  readonly normTopkProb: boolean;
  readonly routedScalingFactor: number;
}

export function routeParams(config: ModelConfig): RouteParams {
  return {
    topK: config.numExpertsPerTok,
    nGroup: config.nGroup,
    topkGroup: config.topkGroup,
    normTopkProb: config.normTopkProb,
    routedScalingFactor: config.routedScalingFactor,
  };
}

/**
 * Test instrumentation. onRoute, when set, is called with each routed token's chosen experts and
 * decision margin, the smallest gap (in biased-score units) between a choice and the best
 * alternative it beat, over the group choice and the expert choice. A run that perturbs scores by
 * more than the margin may route differently: end-to-end tests use it to tell knife edges from
 * real errors. choose, when set, is called after onRoute with the same two and returns the experts
 * to use instead (weighted by this token's own unbiased scores): the end-to-end check makes the
 * reference follow the kernels' choice at a near-tie, so that both go on with the same experts.
 */
export const routingObserver: {
  onRoute: ((margin: number, experts: readonly number[]) => void) | null;
  choose: ((margin: number, experts: readonly number[]) => readonly number[]) | null;
} = { onRoute: null, choose: null };

/** scores: sigmoid of the router logits [E]; bias: e_score_correction_bias [E]. */
export function routeToken(scores: ArrayLike<number>, bias: ArrayLike<number>, p: RouteParams): { idx: number[]; weights: number[] } {
  const E = scores.length;
  const perGroup = E / p.nGroup;
  const biased: number[] = [];
  for (let e = 0; e < E; e++) biased.push(scores[e] + bias[e]);

  const keptGroups = topIndices(groupScores(biased, p.nGroup), p.topkGroup);
  const masked = biased.map((b, e) => (keptGroups.includes(Math.floor(e / perGroup)) ? b : -Infinity));
  const own = topIndices(masked, p.topK);
  const margin = Math.min(choiceMargin(groupScores(biased, p.nGroup), keptGroups), choiceMargin(masked, own));
  routingObserver.onRoute?.(margin, own);
  const idx = routingObserver.choose ? checkedChoice(routingObserver.choose(margin, own), E, p.topK) : own;

  const chosen = idx.map((e) => scores[e]);
  let sum = 0;
  for (const s of chosen) sum += s;
  const norm = p.normTopkProb ? sum : 1;
  return { idx, weights: chosen.map((s) => (s / norm) * p.routedScalingFactor) };
}

/** A steered choice must still be topK distinct experts of E. */
function checkedChoice(experts: readonly number[], E: number, topK: number): number[] {
  const ok = experts.length === topK && new Set(experts).size === topK && experts.every((e) => Number.isInteger(e) && e >= 0 && e < E);
  if (!ok) throw new Error(`reference: a steered route must be ${topK} distinct experts of ${E}, got [${experts}]`);
  return [...experts];
}

/** The smallest gap between a chosen value and the largest value not chosen (Infinity when all are chosen). */
function choiceMargin(values: readonly number[], chosen: readonly number[]): number {
  let best = -Infinity;
  values.forEach((v, i) => {
    if (!chosen.includes(i) && v > best) best = v;
  });
  return best === -Infinity ? Infinity : Math.min(...chosen.map((i) => values[i])) - best;
}

/** Each group's score: the sum of its two largest biased scores. biased [nGroup × perGroup]. */
export function groupScores(biased: readonly number[], nGroup: number): number[] {
  const perGroup = biased.length / nGroup;
  const out: number[] = [];
  for (let g = 0; g < nGroup; g++) {
    const [a, b] = topIndices(biased.slice(g * perGroup, (g + 1) * perGroup), 2);
    out.push(biased[g * perGroup + a] + biased[g * perGroup + b]);
  }
  return out;
}

/** Indices of the k largest values, largest first; of equal values the lower index comes first. */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  const taken = new Array<boolean>(values.length).fill(false);
  const out: number[] = [];
  for (let r = 0; r < k; r++) {
    let best = -1;
    for (let i = 0; i < values.length; i++) {
      if (!taken[i] && (best < 0 || values[i] > values[best])) best = i;
    }
    taken[best] = true;
    out.push(best);
  }
  return out;
}
