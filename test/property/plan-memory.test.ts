import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../compiler/config/parse-config.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { valueTypes } from '../../compiler/ir/graph.ts';
import { byteSize } from '../../compiler/ir/types.ts';
import { compileModel } from '../../compiler/compile-model.ts';
import type { Pass } from '../../compiler/passes/pass.ts';
import { PIPELINE, runPipeline } from '../../compiler/passes/pipeline.ts';
import { planMemory } from '../../compiler/passes/plan-memory.ts';
import { buildModel } from '../../compiler/model/build-model.ts';
import { arbitraryRawConfig } from '../support/arbitrary-config.ts';

describe('plan-memory', () => {
  test.prop([arbitraryRawConfig, fc.integer({ min: 1, max: 300 })], { numRuns: 60 })('never gives two live buffers the same bytes', (raw, tokens) => {
    const config = parseConfig(raw, 'generated.json');
    for (const p of compileModel(config, { actQuant: 'fp8', disabledPasses: [] })) {
      const bindings = p.phase === 'prefill' ? { T: tokens, S: tokens } : { B: tokens, S: 2 * tokens };
      const plan = planMemory(p.schedule, bindings);
      const types = valueTypes(p.schedule.graph);
      for (const a of plan.slots) {
        expect(a.bytes).toBe(byteSize(types.get(a.value)!, bindings));
        expect(a.offset % 256).toBe(0);
        for (const b of plan.slots) {
          if (a === b || a.last < b.first || b.last < a.first) continue;
          const disjoint = a.offset + a.bytes <= b.offset || b.offset + b.bytes <= a.offset;
          expect(disjoint, `%${a.value} and %${b.value} are live together`).toBe(true);
        }
      }
      // Never worse than giving every activation its own (256-byte aligned) buffer.
      const separate = plan.slots.reduce((s, x) => s + Math.ceil(x.bytes / 256) * 256, 0);
      expect(plan.peakBytes).toBeLessThanOrEqual(separate);
      expect(plan.peakBytes).toBeGreaterThanOrEqual(Math.max(...plan.slots.map((x) => x.bytes)));
    }
  });

  it('reuses memory across DeepSeek-V3 layers', () => {
    const [prefill] = compileModel(loadConfig('configs/deepseek-v3.json'), { actQuant: 'fp8', disabledPasses: [] });
    const plan = planMemory(prefill.schedule, { T: 64, S: 64 });
    const separate = plan.slots.reduce((s, x) => s + x.bytes, 0);
    expect(plan.peakBytes * 20).toBeLessThan(separate);
  });
});

describe('pass manager', () => {
  it('refuses to run a pass whose requirement was disabled', () => {
    const config = loadConfig('configs/tiny-moe-128.json');
    const needsAbsorb: Pass = { name: 'after-absorb', requires: ['absorb-mla'], doc: 'test pass', run: (g) => g };
    const pipeline = [...PIPELINE, needsAbsorb];
    const graph = buildModel(config, 'decode');
    expect(() => runPipeline(graph, config, ['absorb-mla'], true, pipeline)).toThrow(/after-absorb requires absorb-mla, which is disabled/);
    expect(() => runPipeline(graph, config, [], true, pipeline)).not.toThrow();
  });
});
