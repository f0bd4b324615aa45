import { describe, expect, it } from 'vitest';
import { groupScores, routeToken, routingObserver, topIndices, type RouteParams } from './routing.ts';

// Hand-built cases for the routing mistakes other implementations made. Each case also runs the
// wrong variant (built from the same helpers) to show it would pick or weigh differently.

const params = (p: Partial<RouteParams>): RouteParams => ({
  topK: 2,
  nGroup: 1,
  topkGroup: 1,
  normTopkProb: true,
  routedScalingFactor: 1,
  ...p,
});

describe('routeToken (noaux_tc)', () => {
  it('weighs the chosen experts by their unbiased scores: the bias only selects', () => {
    const scores = [0.1, 0.2, 0.3, 0.4];
    const bias = [0.5, 0, 0, 0]; // biased: 0.6, 0.2, 0.3, 0.4 → experts 0 and 3
    const r = routeToken(scores, bias, params({}));
    expect(r.idx).toEqual([0, 3]);
    expect(r.weights[0]).toBeCloseTo(0.2, 15); // 0.1 / (0.1 + 0.4)
    expect(r.weights[1]).toBeCloseTo(0.8, 15);

    const leaked = r.idx.map((e) => scores[e] + bias[e]); // 0.6, 0.4: already sums to 1
    expect(leaked[0]).not.toBeCloseTo(r.weights[0], 3);

    const unnormed = routeToken(scores, bias, params({ normTopkProb: false, routedScalingFactor: 2.5 }));
    expect(unnormed.weights[0]).toBeCloseTo(0.25, 15); // 0.1 · 2.5, not 0.6 · 2.5
    expect(unnormed.weights[1]).toBeCloseTo(1.0, 15);
  });

  it('masks dropped groups with −inf, so negative kept experts still beat them', () => {
    // 4 groups of 2; only 3 kept experts have a positive biased score but 4 are wanted.
    const scores = [0.9, 0.8, 0.6, 0.5, 0.1, 0.1, 0.1, 0.1];
    const bias = [0, 0, -0.1, -0.9, -0.5, -0.5, -0.6, -0.6];
    const p = params({ topK: 4, nGroup: 4, topkGroup: 2 });
    // biased 0.9 0.8 | 0.5 −0.4 | −0.4 −0.4 | −0.5 −0.5 → group scores 1.7, 0.1, −0.8, −1.0 → keep 0, 1
    const r = routeToken(scores, bias, p);
    expect(r.idx).toEqual([0, 1, 2, 3]);

    const biased = scores.map((s, e) => s + bias[e]);
    const kept = topIndices(groupScores(biased, 4), 2);
    const zeroMasked = biased.map((b, e) => (kept.includes(Math.floor(e / 2)) ? b : 0));
    expect(topIndices(zeroMasked, 4)).toEqual([0, 1, 2, 4]); // expert 4 comes from a dropped group
  });

  it('scores a group by the sum of its two best experts, not its max or its total', () => {
    // 2 groups of 3, keep 1. top-2 sums: 1.1 vs 1.15; maxes: 0.9 vs 0.6; totals: 1.2 vs 1.16.
    const scores = [0.9, 0.1, 0.2, 0.6, 0.55, 0.01];
    const zero = new Array(6).fill(0);
    const r = routeToken(scores, zero, params({ nGroup: 2, topkGroup: 1 }));
    expect(r.idx).toEqual([3, 4]);

    const byMax = [Math.max(...scores.slice(0, 3)), Math.max(...scores.slice(3))];
    const byTotal = [scores.slice(0, 3), scores.slice(3)].map((g) => g.reduce((a, b) => a + b, 0));
    expect(topIndices(byMax, 1)).toEqual([0]);
    expect(topIndices(byTotal, 1)).toEqual([0]);
  });

  it('normalizes only when norm_topk_prob, then scales by routed_scaling_factor', () => {
    const scores = [0.5, 0.3, 0.1, 0.05];
    const zero = [0, 0, 0, 0];
    const normed = routeToken(scores, zero, params({ normTopkProb: true, routedScalingFactor: 2.5 }));
    expect(normed.idx).toEqual([0, 1]);
    expect(normed.weights[0]).toBeCloseTo(1.5625, 14); // 0.5 / 0.8 · 2.5
    expect(normed.weights[1]).toBeCloseTo(0.9375, 14); // 0.3 / 0.8 · 2.5
    const raw = routeToken(scores, zero, params({ normTopkProb: false, routedScalingFactor: 2.5 }));
    expect(raw.weights[0]).toBeCloseTo(1.25, 14);
    expect(raw.weights[1]).toBeCloseTo(0.75, 14);
    const unscaled = routeToken(scores, zero, params({ normTopkProb: true, routedScalingFactor: 1 }));
    expect(unscaled.weights[0]).toBeCloseTo(0.625, 14);
  });

  it('breaks ties toward the lower expert and the lower group', () => {
    const scores = [0.5, 0.5, 0.7, 0.7, 0.7, 0.7];
    const r = routeToken(scores, new Array(6).fill(0), params({ topK: 2, nGroup: 3, topkGroup: 1 }));
    expect(r.idx).toEqual([2, 3]); // groups 1 and 2 tie at 1.4: group 1 wins
    expect(topIndices([1, 3, 3, 2], 3)).toEqual([1, 2, 3]);
  });

  it('can be steered: choose sees its own choice and margin, and the experts it returns are weighed by their unbiased scores', () => {
    const scores = [0.5, 0.3, 0.29, 0.05];
    const bias = [0, 0, 0.005, 0]; // biased 0.5, 0.3, 0.295, 0.05 → experts 0 and 1, margin 0.005
    const seen: { margin: number; experts: number[] }[] = [];
    routingObserver.choose = (margin, experts) => (seen.push({ margin, experts: [...experts] }), [0, 2]);
    try {
      const r = routeToken(scores, bias, params({ routedScalingFactor: 2 }));
      expect(seen).toHaveLength(1);
      expect(seen[0].experts).toEqual([0, 1]);
      expect(seen[0].margin).toBeCloseTo(0.005, 14);
      expect(r.idx).toEqual([0, 2]);
      expect(r.weights[0]).toBeCloseTo((0.5 / 0.79) * 2, 14);
      expect(r.weights[1]).toBeCloseTo((0.29 / 0.79) * 2, 14); // 0.29, not the biased 0.295

      routingObserver.choose = () => [0, 0];
      expect(() => routeToken(scores, bias, params({}))).toThrow(/2 distinct experts of 4/);
    } finally {
      routingObserver.choose = null;
    }
    expect(routeToken(scores, bias, params({})).idx).toEqual([0, 1]);
  });
});
