import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { canonicalNames, compressNames, expandNames, firstName, formatNames, interleaveNames, nameCount, nameRun } from '../../compiler/ir/name-runs.ts';

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

  // Recipes carry lists built from runs (nameRun, interleaveNames, canonicalNames); the manifest
  // writes them as they are, so each must be the list compressNames makes of the same names.
  const template = fc.constantFrom('l.3.experts.{}.gate.weight', 'l.3.experts.{}.up.weight', 'l.3.experts.{}.gate.scale', 'l.3.experts.{}.up.scale');
  const single = fc.constantFrom('l.3.shared.gate.weight', 'l.3.shared.up.weight', 'l.4.norm.weight');
  test.prop([template, fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 40 })])('nameRun is canonical at any count', (t, from, count) => {
    const list = nameRun(t, from, count);
    expect(expandNames(list)).toEqual(Array.from({ length: count }, (_, k) => t.replace('{}', String(from + k))));
    expect(list).toEqual(compressNames(expandNames(list)));
    expect(nameCount(list)).toBe(count);
    expect(firstName(list)).toBe(count > 0 ? t.replace('{}', String(from)) : undefined);
  });

  test.prop([fc.tuple(template, template).filter(([a, b]) => a !== b), fc.integer({ min: 0, max: 40 }), fc.array(fc.tuple(single, single), { maxLength: 2 })])(
    'interleaveNames pairs runs and singles, canonically',
    ([ta, tb], count, shared) => {
      const a = canonicalNames([...nameRun(ta, 0, count), ...shared.map((s) => s[0])]);
      const b = canonicalNames([...nameRun(tb, 0, count), ...shared.map((s) => s[1])]);
      const [na, nb] = [expandNames(a), expandNames(b)];
      const want = na.flatMap((n, i) => [n, nb[i]]);
      expect(expandNames(interleaveNames(a, b))).toEqual(want);
      expect(interleaveNames(a, b)).toEqual(compressNames(want));
    },
  );

  it('interleaveNames spells out lists whose runs do not pair, and refuses lists of different lengths', () => {
    const a = nameRun('e.{}.gate', 0, 4);
    const b = ['x.0.up', 'x.1.up', 'y.up', 'z.up'];
    expect(expandNames(interleaveNames(a, b))).toEqual(['e.0.gate', 'x.0.up', 'e.1.gate', 'x.1.up', 'e.2.gate', 'y.up', 'e.3.gate', 'z.up']);
    expect(() => interleaveNames(a, b.slice(1))).toThrow(/lists of 4 and 3 names/);
  });

  it('formats runs for IR dumps as number ranges', () => {
    const list = interleaveNames(nameRun('e.{}.gate', 0, 256), nameRun('e.{}.up', 0, 256));
    expect(formatNames([...list, 'shared.gate'])).toBe('e.{0..255}.gate + e.{0..255}.up, shared.gate');
  });
});
