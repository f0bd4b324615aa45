import { describe, expect, it } from 'vitest';
import { routeToken, type RouteParams } from '../reference/routing.ts';
import { AgreementError, following } from './agreement.ts';

// The reference's router calls come MoE layer by layer, row by row within a layer; `following`
// maps them onto ours[layer][row]. Here a fake step of 2 MoE layers × 2 rows routes top-1 of 3.
const params: RouteParams = { topK: 1, nGroup: 1, topkGroup: 1, normTopkProb: true, routedScalingFactor: 1 };
const zero = [0, 0, 0];
// Per call (layer 0 row 0, layer 0 row 1, layer 1 row 0, layer 1 row 1): the reference's own choice and margin.
const scores = [
  [0.9, 0.1, 0.2], // 0, clear
  [0.5, 0.49, 0.1], // 0, margin 0.01
  [0.1, 0.8, 0.3], // 1, clear
  [0.2, 0.1, 0.7], // 2, clear
];
const step = () => scores.map((s) => routeToken(s, zero, params).idx[0]);

describe('following: the reference takes our experts at its near-ties', () => {
  it('follows a near-tie where ours differs, in layer-then-row order', () => {
    const r = following([[[0], [1]], [[1], [2]]], 2, 0.05, 'test', step);
    expect(r.result).toEqual([0, 1, 1, 2]);
    expect(r.followed).toBe(1);
    expect(r.decisions).toBe(4);
    expect(following([[[0], [0]], [[1], [2]]], 2, 0.05, 'test', step)).toEqual({ result: [0, 0, 1, 2], followed: 0, decisions: 4 });
  });

  it('names a difference that is not a near-tie, and the router is left unsteered', () => {
    expect(() => following([[[0], [0]], [[2], [2]]], 2, 0.05, 'test', step)).toThrow(AgreementError);
    expect(() => following([[[0], [0]], [[2], [2]]], 2, 0.05, 'test', step)).toThrow('MoE layer 1 row 0 chose experts [2], the reference [1] with margin 5.00e-1');
    // Layer 0 row 1's margin 0.01 is a near-tie only for a tie bound above it.
    expect(() => following([[[0], [1]], [[1], [2]]], 2, 0.005, 'test', step)).toThrow('MoE layer 0 row 1 chose experts [1], the reference [0] with margin 1.00e-2');
    expect(step()).toEqual([0, 0, 1, 2]);
  });

  it('fails when the probe read a different number of router decisions than the reference made', () => {
    expect(() => following([[[0], [0]]], 2, 0.05, 'test', step)).toThrow(/routed more than the 1 probed MoE layers × 2 rows/);
    expect(() => following([[[0], [0]], [[1], [2]], [[0], [0]]], 2, 0.05, 'test', step)).toThrow(/routed 4 times, the probe read 3 MoE layers × 2 rows/);
  });
});
