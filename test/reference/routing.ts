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
 * Test instrumentation: when set, called with each routed token's chosen experts and decision
 * margin, the smallest gap (in biased-score units) between a choice and the best alternative it
 * beat, over the group choice and the expert choice. A run that perturbs scores by more than the
 * margin may route differently: end-to-end tests use it to tell knife edges from real errors.
 */
export const routingObserver: { onRoute: ((margin: number, experts: readonly number[]) => void) | null } = { onRoute: null };

/** scores: sigmoid of the router logits [E]; bias: e_score_correction_bias [E]. */
export function routeToken(scores: ArrayLike<number>, bias: ArrayLike<number>, p: RouteParams): { idx: number[]; weights: number[] } {
  const E = scores.length;
  const perGroup = E / p.nGroup;
  const biased: number[] = [];
  for (let e = 0; e < E; e++) biased.push(scores[e] + bias[e]);

  const keptGroups = topIndices(groupScores(biased, p.nGroup), p.topkGroup);
  const masked = biased.map((b, e) => (keptGroups.includes(Math.floor(e / perGroup)) ? b : -Infinity));
  const idx = topIndices(masked, p.topK);
  if (routingObserver.onRoute) routingObserver.onRoute(Math.min(choiceMargin(groupScores(biased, p.nGroup), keptGroups), choiceMargin(masked, idx)), idx);

  const chosen = idx.map((e) => scores[e]);
  let sum = 0;
  for (const s of chosen) sum += s;
  const norm = p.normTopkProb ? sum : 1;
  return { idx, weights: chosen.map((s) => (s / norm) * p.routedScalingFactor) };
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
