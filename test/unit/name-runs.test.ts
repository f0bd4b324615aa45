import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { compressNames, expandNames } from '../../compiler/package/name-runs.ts';

describe('name runs (manifest.json)', () => {
  it('writes interleaved expert names as one run and reads them back', () => {
    const names = Array.from({ length: 256 }, (_, e) => [`model.layers.3.mlp.experts.${e}.gate_proj.weight`, `model.layers.3.mlp.experts.${e}.up_proj.weight`]).flat();
    names.push('model.layers.3.mlp.shared_experts.gate_proj.weight', 'model.layers.3.mlp.shared_experts.up_proj.weight');
    const list = compressNames(names);
    expect(list).toEqual([
      { each: ['model.layers.3.mlp.experts.{}.gate_proj.weight', 'model.layers.3.mlp.experts.{}.up_proj.weight'], from: 0, count: 256 },
      'model.layers.3.mlp.shared_experts.gate_proj.weight',
      'model.layers.3.mlp.shared_experts.up_proj.weight',
    ]);
    expect(expandNames(list)).toEqual(names);
  });

  const part = fc.constantFrom('a', 'b.c', 'w', 'x.y.weight');
  const name = fc.oneof(
    fc.tuple(part, fc.integer({ min: 0, max: 12 }), fc.constantFrom('.weight', '.scale', '.w_uk')).map(([p, n, s]) => `${p}.${n}${s}`),
    fc.string(),
  );
  test.prop([fc.array(name, { maxLength: 60 })], { numRuns: 500 })('expand(compress(names)) = names, for any list', (names) => {
    expect(expandNames(compressNames(names))).toEqual(names);
  });
  test.prop([fc.constantFrom('.weight', '.weight_scale_inv'), fc.integer({ min: 3, max: 300 }), fc.integer({ min: 0, max: 9 })])('a run of n numbered names is one entry', (suffix, n, from) => {
    const names = Array.from({ length: n }, (_, e) => `m.layers.1.experts.${from + e}${suffix}`);
    expect(compressNames(names)).toHaveLength(1);
  });
});
