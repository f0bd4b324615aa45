import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeBF16, encodeBF16 } from '../../compiler/checkpoint/bf16.ts';
import { E4M3FN_VALUES } from '../../compiler/checkpoint/fp8.ts';
import type { DerivedRecipe } from '../../compiler/ir/graph.ts';
import { applyRecipe } from '../../compiler/ir/recipes.ts';
import { tensor, type Tensor } from '../../compiler/ir/tensor.ts';
import type { DType } from '../../compiler/ir/types.ts';
import type { Manifest, ManifestWeight } from '../../compiler/package/manifest.ts';
import { conversion } from '../../runtime/src/weights/convert.ts';
import { copyLayout } from '../../runtime/src/weights/copy-layout.ts';
import { loadWeights } from '../../runtime/src/weights/load-weights.ts';
import { bf16BitsOfFloat64 } from '../../compiler/checkpoint/bf16.ts';
import { tempFolder } from '../checkpoint/helpers.ts';
import { CollectSink } from './collect-sink.ts';
import { seedNote, tinyCheckpoint } from './tiny-fixture.ts';
import { decodeAs, interpreterWeight, referenceBf16, roundAs } from './weight-reference.ts';

const tmp = tempFolder('weight-convert');
afterAll(tmp.cleanup);

describe('bf16BitsOfFloat64: one rounding, to nearest even', () => {
  it('rounds above a bf16 midpoint up where a float32 step would tie down', () => {
    const x = 1 + 2 ** -8 + 2 ** -30; // float32 rounds it to the midpoint 1 + 2^-8, which ties to 1
    expect(encodeBF16(x)).toBe(0x3f80);
    expect(bf16BitsOfFloat64(x)).toBe(0x3f81);
    expect(bf16BitsOfFloat64(1 + 2 ** -8)).toBe(0x3f80); // an exact tie goes to even
    expect(bf16BitsOfFloat64(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });

  it('handles zeros, subnormals, overflow, infinities and NaN', () => {
    expect(bf16BitsOfFloat64(0)).toBe(0);
    expect(bf16BitsOfFloat64(-0)).toBe(0x8000);
    expect(bf16BitsOfFloat64(2 ** -133)).toBe(1);
    expect(bf16BitsOfFloat64(2 ** -134)).toBe(0); // tie between 0 and the smallest subnormal
    expect(bf16BitsOfFloat64(1.5 * 2 ** -134)).toBe(1);
    expect(bf16BitsOfFloat64(-(2 ** -126))).toBe(0x8080);
    expect(bf16BitsOfFloat64(2 ** -140)).toBe(0);
    expect(bf16BitsOfFloat64(decodeBF16(0x7f7f))).toBe(0x7f7f);
    expect(bf16BitsOfFloat64(2 ** 128 - 2 ** 119 - 2 ** 100)).toBe(0x7f7f);
    expect(bf16BitsOfFloat64(2 ** 128 - 2 ** 119)).toBe(0x7f80); // tie with the odd max goes up
    expect(bf16BitsOfFloat64(-1e300)).toBe(0xff80);
    expect(bf16BitsOfFloat64(-Infinity)).toBe(0xff80);
    expect(bf16BitsOfFloat64(NaN) & 0x7fff).toBe(0x7fc0);
  });

  test.prop([fc.double({ noNaN: true, min: -3e38, max: 3e38 })], { numRuns: 2000 })('matches a nearest-of-neighbours search on any double', (x) => {
    expect(bf16BitsOfFloat64(x)).toBe(referenceBf16(x));
  });

  test.prop([fc.integer({ min: 0, max: 0x7f7e }), fc.boolean()], { numRuns: 2000 })('matches the search at and next to every kind of midpoint', (k, negative) => {
    const mid = (decodeBF16(k) + decodeBF16(k + 1)) / 2;
    for (const x of [mid, mid * (1 + 2 ** -52), mid * (1 - 2 ** -52), mid + 2 ** -149, decodeBF16(k)]) {
      const v = negative ? -x : x;
      expect(bf16BitsOfFloat64(v)).toBe(referenceBf16(v));
    }
  });

  test.prop([fc.integer({ min: 0, max: 255 }), fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(1e-8), max: Math.fround(1e4) })], { numRuns: 2000 })(
    'matches the search on fp8 × f32 scale products (kv-b-split values)',
    (code, scale) => {
      fc.pre((code & 0x7f) !== 0x7f);
      const x = E4M3FN_VALUES[code] * scale;
      expect(bf16BitsOfFloat64(x)).toBe(referenceBf16(x));
    },
  );
});

describe('copyLayout places each element where the float64 recipe does', () => {
  /** Sources whose values say where they come from, the recipe applied, and the layout replayed. */
  function check(recipe: DerivedRecipe, shapes: number[][]): void {
    const sources: Tensor[] = shapes.map((s, i) => tensor(s, Float64Array.from({ length: s.reduce((a, d) => a * d, 1) }, (_, j) => i * 1e6 + j)));
    const want = applyRecipe(recipe, sources);
    const layout = copyLayout(recipe, shapes);
    expect(layout.shape).toEqual(want.shape);
    const got = new Float64Array(want.data.length).fill(NaN);
    for (const s of layout.segments) {
      for (let k = 0; k < s.count; k++) {
        expect(Number.isNaN(got[s.dstStart + k])).toBe(true);
        got[s.dstStart + k] = sources[s.src].data[s.srcStart + k];
      }
    }
    expect(got).toEqual(want.data);
  }
  const dim = fc.integer({ min: 1, max: 9 });

  test.prop([fc.array(dim, { minLength: 1, maxLength: 4 }), dim])('concat-rows', (rows, K) => {
    check({ kind: 'concat-rows', sources: [], attrs: {} }, rows.map((r) => [r, K]));
  });

  test.prop([dim, dim, dim])('interleave-rows (a last group may be short)', (N, K, group) => {
    check({ kind: 'interleave-rows', sources: [], attrs: { group } }, [[N, K], [N, K]]);
  });

  test.prop([dim, fc.integer({ min: 1, max: 4 }), dim, dim])('interleave-row-scales (group divides blockN)', (group, m, N, kb) => {
    const blockN = group * m;
    check({ kind: 'interleave-row-scales', sources: [], attrs: { group, blockN, rows: N } }, [[Math.ceil(N / blockN), kb], [Math.ceil(N / blockN), kb]]);
  });

  test.prop([fc.integer({ min: 1, max: 4 }), dim, dim, dim])('stack, plain and of interleave-rows / interleave-row-scales', (E, N, K, group) => {
    check({ kind: 'stack', sources: [], attrs: {} }, Array.from({ length: E }, () => [N, K]));
    check({ kind: 'stack', sources: [], attrs: { each: 'interleave-rows', arity: 2, group } }, Array.from({ length: 2 * E }, () => [N, K]));
    const blockN = group * 2;
    check({ kind: 'stack', sources: [], attrs: { each: 'interleave-row-scales', arity: 2, group, blockN, rows: N } }, Array.from({ length: 2 * E }, () => [Math.ceil(N / blockN), K]));
  });

  it('refuses recipes it does not copy and sources that do not fit', () => {
    expect(() => copyLayout({ kind: 'kv-b-split', sources: [], attrs: {} }, [[2, 2]])).toThrow(/not one the loader copies/);
    expect(() => copyLayout({ kind: 'interleave-rows', sources: [], attrs: { group: 2 } }, [[4, 2], [4, 3]])).toThrow(/two 2-D sources of one shape/);
    expect(() => copyLayout({ kind: 'concat-rows', sources: [], attrs: {} }, [[4, 2], [4, 3]])).toThrow(/equal columns/);
  });
});

describe('conversion', () => {
  it('copies same formats, widens exactly, rounds F32 to bf16, refuses the rest', () => {
    expect(conversion('F8_E4M3', 'fp8e4m3')).toMatchObject({ convert: null });
    expect(conversion('BF16', 'bf16')).toMatchObject({ convert: null });
    expect(conversion('F32', 'f32')).toMatchObject({ convert: null });
    for (const [from, to] of [['F8_E4M3', 'bf16'], ['F8_E4M3', 'f32'], ['BF16', 'f32'], ['F32', 'bf16']] as const) expect(typeof conversion(from, to)).toBe('object');
    expect(conversion('BF16', 'fp8e4m3')).toMatch(/without new block scales/);
    expect(conversion('F16', 'bf16')).toMatch(/not F16 to bf16/);
    expect(conversion('F32', 'f16')).toMatch(/not F32 to f16/);
  });
});

describe('loading into another dtype than stored: the interpreter value rounded to that dtype', () => {
  it('BF16 → f32, F32 → bf16, F8_E4M3 → bf16 / f32, stacked or split', async ({ onTestFailed }) => {
    onTestFailed(() => console.error(seedNote()));
    const { manifest, open } = await tinyCheckpoint('tiny-noqlora', join(tmp.dir, 'noqlora'), 2);
    const pick = (f: (w: ManifestWeight) => boolean) => manifest.weights.find(f)!;
    const retype = new Map<string, DType>([
      [pick((w) => !w.recipe && w.dtype === 'bf16').name, 'f32'],
      [pick((w) => !w.recipe && w.dtype === 'f32' && w.name.endsWith('weight_scale_inv')).name, 'bf16'],
      [pick((w) => !w.recipe && w.dtype === 'fp8e4m3').name, 'bf16'],
      [pick((w) => w.recipe?.kind === 'stack' && w.dtype === 'fp8e4m3' && w.recipe.attrs.each === 'interleave-rows').name, 'f32'],
      [pick((w) => w.recipe?.kind === 'stack' && w.dtype === 'f32' && w.recipe.attrs.each === 'interleave-row-scales').name, 'bf16'],
      [pick((w) => w.recipe?.kind === 'kv-b-split' && w.recipe.attrs.part === 'uk').name, 'f32'],
      [pick((w) => w.recipe?.kind === 'kv-b-split' && w.recipe.attrs.part === 'uv').name, 'f32'],
    ]);
    expect(retype.size).toBe(7);
    const bytesOf = (dtype: DType) => ({ bf16: 2, f32: 4, fp8e4m3: 1, f16: 2, i32: 4, i64: 8 })[dtype];
    const weights = manifest.weights
      .filter((w) => retype.has(w.name))
      .map((w) => ({ ...w, dtype: retype.get(w.name)!, bytes: (w.bytes / bytesOf(w.dtype)) * bytesOf(retype.get(w.name)!) }));
    const retyped: Manifest = { ...manifest, weights, totalBytes: weights.reduce((a, w) => a + w.bytes, 0) };
    const ck = await open();
    try {
      for (const chunkBytes of [undefined, 256]) {
        const sink = new CollectSink();
        await loadWeights(ck, retyped, sink, { chunkBytes });
        for (const w of weights) {
          const want = roundAs(await interpreterWeight(ck, w), w.dtype);
          const got = decodeAs(sink.bytes.get(w.name)!, w.dtype);
          let bad = -1;
          for (let i = 0; i < got.length && bad < 0; i++) if (got[i] !== want[i]) bad = i;
          expect(bad, `${w.name} as ${w.dtype} (chunk ${chunkBytes}): element ${bad} is ${got[bad]}, expected ${want[bad]}`).toBe(-1);
        }
      }
    } finally {
      await ck.close();
    }
  });
});
