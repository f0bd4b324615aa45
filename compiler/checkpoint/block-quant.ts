import { decodeE4M3FN, E4M3FN_MAX, encodeE4M3FN } from './fp8.ts';

/** Block sizes of weight_scale_inv: one scale per [blockN rows × blockK columns]; DeepSeek-V3 uses 128×128. */
export interface BlockSize {
  readonly blockN: number;
  readonly blockK: number;
}

export const DEEPSEEK_BLOCK: BlockSize = { blockN: 128, blockK: 128 };

export interface BlockQuantized {
  readonly fp8: Uint8Array; // (rows, cols) e4m3fn codes, row-major
  readonly scaleInv: Float32Array; // (ceil(rows/blockN), ceil(cols/blockK)), row-major
}

/**
 * Quantizes a row-major (rows, cols) matrix as DeepSeek-V3 stores its linears: per block,
 * scale = amax/448 so the block's largest magnitude maps to 448, codes = e4m3fn(w / scale).
 * Edge blocks cover what is left. An all-zero block gets scale 1 (no division by zero).
 */
export function quantizeBlocks(w: Float32Array, rows: number, cols: number, block: BlockSize = DEEPSEEK_BLOCK): BlockQuantized {
  if (w.length !== rows * cols) throw new RangeError(`quantizeBlocks: ${w.length} values for a ${rows}×${cols} matrix`);
  const gridRows = Math.ceil(rows / block.blockN);
  const gridCols = Math.ceil(cols / block.blockK);
  const fp8 = new Uint8Array(rows * cols);
  const scaleInv = new Float32Array(gridRows * gridCols);
  for (let br = 0; br < gridRows; br++) {
    const r0 = br * block.blockN;
    const r1 = Math.min(rows, r0 + block.blockN);
    for (let bc = 0; bc < gridCols; bc++) {
      const c0 = bc * block.blockK;
      const c1 = Math.min(cols, c0 + block.blockK);
      let amax = 0;
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          const v = w[r * cols + c];
          if (!Number.isFinite(v)) throw new RangeError(`quantizeBlocks: non-finite value ${v} at (${r}, ${c})`);
          amax = Math.max(amax, Math.abs(v));
        }
      }
      // Stored as F32, so the scale used for the codes is the float32 one the reader will see.
      const scaled = Math.fround(amax / E4M3FN_MAX);
      const scale = scaled > 0 ? scaled : 1;
      scaleInv[br * gridCols + bc] = scale;
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) fp8[r * cols + c] = encodeE4M3FN(w[r * cols + c] / scale);
      }
    }
  }
  return { fp8, scaleInv };
}

/** w = fp8 × weight_scale_inv of its block, as float32; the inverse of quantizeBlocks up to FP8 rounding. */
export function dequantizeBlocks(q: BlockQuantized, rows: number, cols: number, block: BlockSize = DEEPSEEK_BLOCK): Float32Array {
  const gridCols = Math.ceil(cols / block.blockK);
  if (q.fp8.length !== rows * cols || q.scaleInv.length !== Math.ceil(rows / block.blockN) * gridCols) {
    throw new RangeError(`dequantizeBlocks: ${q.fp8.length} codes and ${q.scaleInv.length} scales do not fit a ${rows}×${cols} matrix`);
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const scaleRow = Math.floor(r / block.blockN) * gridCols;
    for (let c = 0; c < cols; c++) {
      out[r * cols + c] = decodeE4M3FN(q.fp8[r * cols + c]) * q.scaleInv[scaleRow + Math.floor(c / block.blockK)];
    }
  }
  return out;
}
