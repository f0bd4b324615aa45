import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
// The one place the reference meets the IR: its two pure helpers are checked against ours.
import { routeToken as irRouteToken } from '../../compiler/ir/ops/moe.ts';
import { ropeAmplitude as irRopeAmplitude, ropeFrequencies as irRopeFrequencies } from '../../compiler/ir/ops/rope-frequencies.ts';
import type { RopeScaling } from '../../compiler/config/model-config.ts';
import { ropeAmplitude, ropeFrequencies } from './rope.ts';
import { routeToken, type RouteParams } from './routing.ts';

// Router inputs on a coarse grid, so ties between experts and between groups happen often.
const routingCase = fc
  .record({ nGroup: fc.integer({ min: 1, max: 8 }), perGroup: fc.integer({ min: 2, max: 8 }) })
  .chain(({ nGroup, perGroup }) =>
    fc.integer({ min: 1, max: nGroup }).chain((topkGroup) =>
      fc.record({
        p: fc.record({
          topK: fc.integer({ min: 1, max: topkGroup * perGroup }),
          nGroup: fc.constant(nGroup),
          topkGroup: fc.constant(topkGroup),
          normTopkProb: fc.boolean(),
          routedScalingFactor: fc.constantFrom(1, 2.5),
        }),
        scores: fc.array(fc.integer({ min: 1, max: 15 }).map((v) => v / 16), { minLength: nGroup * perGroup, maxLength: nGroup * perGroup }),
        bias: fc.array(fc.integer({ min: -8, max: 8 }).map((v) => v / 32), { minLength: nGroup * perGroup, maxLength: nGroup * perGroup }),
      }),
    ),
  );

describe('IR helpers agree with the reference', () => {
  test.prop([routingCase], { numRuns: 500 })('routeToken picks the same experts with the same weights', ({ p, scores, bias }) => {
    const ours = routeToken(scores, bias, p as RouteParams);
    const ir = irRouteToken(scores, bias, p);
    expect(ir.idx).toEqual(ours.idx);
    ir.weights.forEach((v, i) => expect(Math.abs(v - ours.weights[i])).toBeLessThanOrEqual(1e-15 * Math.abs(ours.weights[i])));
  });

  const ropeCase = fc.record({
    half: fc.integer({ min: 1, max: 64 }),
    theta: fc.double({ min: 100, max: 1e6, noNaN: true }),
    yarn: fc.boolean(),
    factor: fc.double({ min: 1, max: 64, noNaN: true }),
    originalMax: fc.integer({ min: 128, max: 16384 }),
    betaFast: fc.double({ min: 1, max: 64, noNaN: true }),
    slowRatio: fc.double({ min: 1, max: 64, noNaN: true }), // betaSlow = betaFast / ratio, equal sometimes
    mscale: fc.double({ min: 0.5, max: 2, noNaN: true }),
    mscaleAllDim: fc.double({ min: 0.5, max: 2, noNaN: true }),
  });

  test.prop([ropeCase], { numRuns: 500 })('ropeFrequencies and ropeAmplitude match', (r) => {
    const dim = 2 * r.half;
    const betaSlow = r.betaFast / r.slowRatio;
    const rope: RopeScaling = r.yarn
      ? { type: 'yarn', factor: r.factor, originalMaxPositionEmbeddings: r.originalMax, betaFast: r.betaFast, betaSlow, mscale: r.mscale, mscaleAllDim: r.mscaleAllDim }
      : { type: 'none' };
    const irParams = {
      dim,
      theta: r.theta,
      scaling: rope.type,
      factor: r.factor,
      originalMax: r.originalMax,
      betaFast: r.betaFast,
      betaSlow,
      mscale: r.mscale,
      mscaleAllDim: r.mscaleAllDim,
    } as const;
    const ours = ropeFrequencies(dim, r.theta, rope);
    const ir = irRopeFrequencies(irParams);
    expect(ir).toHaveLength(ours.length);
    ours.forEach((f, i) => expect(Math.abs(ir[i] - f)).toBeLessThanOrEqual(1e-13 * f));
    expect(irRopeAmplitude(irParams)).toBeCloseTo(ropeAmplitude(rope), 14);
  });
});
