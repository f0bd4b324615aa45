import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { dequantizeBlocks, quantizeBlocks } from '../../compiler/checkpoint/block-quant.ts';
import { normalArray } from '../../compiler/checkpoint/random.ts';

/** A random (rows, cols) matrix: normal values at a random magnitude, some blocks all zero. */
const matrix = fc
  .record({
    rows: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(128, 256)),
    cols: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(128, 256)),
    magnitude: fc.integer({ min: -6, max: 6 }),
    zeroRows: fc.integer({ min: 0, max: 140 }),
    seed: fc.integer(),
  })
  .map(({ rows, cols, magnitude, zeroRows, seed }) => {
    const w = normalArray(seed, 'block-quant', rows * cols, 10 ** magnitude);
    w.fill(0, 0, Math.min(rows, zeroRows) * cols);
    return { rows, cols, w };
  });

/**
 * Half the spacing of e4m3 codes around |y| (y = x / scale, so |y| ≤ 448): 3 mantissa bits give
 * a spacing of 2^(e−3) in the binade [2^e, 2^(e+1)), and 2^−9 among subnormals (|y| < 2^−6).
 */
function halfUlpE4M3(y: number): number {
  if (y < 2 ** -6) return 2 ** -10;
  let e = -6;
  while (2 ** (e + 1) <= y) e++;
  return 2 ** (e - 4);
}

function blockAmax(w: Float32Array, cols: number, r0: number, r1: number, c0: number, c1: number): number {
  let m = 0;
  for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) m = Math.max(m, Math.abs(w[r * cols + c]));
  return m;
}

describe('128×128 block quantization', () => {
  test.prop([matrix], { numRuns: 40 })('one scale per block, edge blocks included, the block max at ±448', ({ rows, cols, w }) => {
    const q = quantizeBlocks(w, rows, cols);
    const gr = Math.ceil(rows / 128);
    const gc = Math.ceil(cols / 128);
    expect(q.scaleInv.length).toBe(gr * gc);
    for (let br = 0; br < gr; br++) {
      for (let bc = 0; bc < gc; bc++) {
        const amax = blockAmax(w, cols, br * 128, Math.min(rows, br * 128 + 128), bc * 128, Math.min(cols, bc * 128 + 128));
        const scale = q.scaleInv[br * gc + bc];
        expect(scale).toBe(amax === 0 ? 1 : Math.fround(amax / 448));
        if (amax === 0) continue;
        // Some element of the block has |code| = 448 (0x7E or 0xFE).
        let hasMax = false;
        for (let r = br * 128; r < Math.min(rows, br * 128 + 128); r++) {
          for (let c = bc * 128; c < Math.min(cols, bc * 128 + 128); c++) hasMax ||= (q.fp8[r * cols + c] & 0x7f) === 0x7e;
        }
        expect(hasMax).toBe(true);
      }
    }
  });

  test.prop([matrix], { numRuns: 40 })('dequantizes within half an FP8 ulp per element', ({ rows, cols, w }) => {
    const q = quantizeBlocks(w, rows, cols);
    const back = dequantizeBlocks(q, rows, cols);
    const gc = Math.ceil(cols / 128);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const x = w[r * cols + c];
        const s = q.scaleInv[Math.floor(r / 128) * gc + Math.floor(c / 128)];
        // Bound: |x − fp8·s| ≤ s · halfUlp(|x|/s), plus float32 rounding of s and of fp8·s (≤ 2^−23 |x|).
        const bound = s * halfUlpE4M3(Math.abs(x) / s) + Math.abs(x) * 2 ** -23;
        const err = Math.abs(x - back[r * cols + c]);
        if (!(err <= bound)) expect.fail(`(${r}, ${c}) of ${rows}×${cols}: x ${x}, got ${back[r * cols + c]}, error ${err} > ${bound}`);
      }
    }
  });

  it('gives an all-zero block scale 1 and zero codes', () => {
    const w = new Float32Array(130 * 5);
    w[129 * 5 + 4] = 3; // only the second row block is non-zero
    const q = quantizeBlocks(w, 130, 5);
    expect([...q.scaleInv]).toEqual([1, Math.fround(3 / 448)]);
    expect(q.fp8.subarray(0, 128 * 5).every((b) => b === 0)).toBe(true);
    expect(q.fp8[129 * 5 + 4]).toBe(0x7e);
  });

  it('rejects non-finite values and mismatched sizes', () => {
    expect(() => quantizeBlocks(Float32Array.from([1, NaN]), 1, 2)).toThrow(RangeError);
    expect(() => quantizeBlocks(new Float32Array(3), 2, 2)).toThrow(RangeError);
    expect(() => dequantizeBlocks({ fp8: new Uint8Array(4), scaleInv: new Float32Array(2) }, 2, 2)).toThrow(RangeError);
  });
});
