import type { SafetensorsDType } from '../../../compiler/checkpoint/dtypes.ts';
import { E4M3FN_VALUES } from '../../../compiler/checkpoint/fp8.ts';
import { float32FromBytes } from '../../../compiler/checkpoint/host-endian.ts';
import type { LoadContext } from './load-context.ts';
import type { KvBSplitPlan } from './plan-weight.ts';
import { bf16BitsOfFloat64 } from '../../../compiler/checkpoint/bf16.ts';

/**
 * Streams kv-b-split (compiler/ir/recipes.ts): kv_b_proj [heads·(nope+v), C], each element times
 * the f32 scale of its blockN×blockK block (1 when unquantized) in float64 — exact, an fp8 code
 * has 4 significant bits and a scale 24 — then rounded once to the weight's dtype.
 *
 * W_UV[h] ([v, C]) is a contiguous run of kv_b rows, streamed in chunks. W_UK[h] ([C, nope]) is
 * the transpose of kv_b's first nope rows of head h, made in tiles of output rows [c0, c1): one
 * read of the head's rows when a whole head fits the chunk, else one read per source row of the
 * tile's columns. A tile holds at least one output row (nope values), so its staging exceeds
 * chunkBytes only when nope values alone do. Only the scale rows a chunk needs are read.
 * On a tensor-parallel mesh the rank's heads start at kv_b row `rowStart` (a whole scale block,
 * mesh.ts), and rows are read and scaled where they are in the checkpoint.
 */
export async function kvBSplitWeight(plan: KvBSplitPlan, ctx: LoadContext): Promise<void> {
  const { heads, nope, v, blockN, blockK, part, w, weight, rowStart } = plan;
  const C = w.info.shape[1];
  const kbC = Math.ceil(C / blockK);
  const srcBytes = w.info.byteSize / (w.info.shape[0] * C);
  const dstBytes = weight.dtype === 'bf16' ? 2 : 4;
  // Per step: the source chunk, its float32 decoding and the output piece each stay within chunkBytes.
  const per = Math.max(1, Math.floor(ctx.chunkBytes / Math.max(srcBytes, 4, dstBytes)));

  /** Scale rows covering kv_b rows [r0, r1): the first block row and the values. */
  const scaleRows = async (r0: number, r1: number): Promise<{ first: number; s: Float32Array } | null> => {
    if (!plan.scale) return null;
    const first = Math.floor(r0 / blockN);
    const last = Math.floor((r1 - 1) / blockN);
    return { first, s: float32FromBytes(await ctx.read(plan.scale.name, first * kbC * 4, (last - first + 1) * kbC * 4)) };
  };
  const output = (count: number) => {
    const bytes = ctx.out(count * dstBytes);
    return dstBytes === 2 ? new Uint16Array(bytes.buffer, bytes.byteOffset, count) : new Float32Array(bytes.buffer, bytes.byteOffset, count);
  };
  const store = (out: Uint16Array | Float32Array, k: number, x: number) => {
    // Float32Array assignment rounds a double to nearest even once; bf16 likewise through bf16BitsOfFloat64.
    out[k] = dstBytes === 2 ? bf16BitsOfFloat64(x) : x;
  };
  const bytesOf = (out: Uint16Array | Float32Array) => new Uint8Array(out.buffer, out.byteOffset, out.byteLength);

  if (part === 'uv') {
    for (let h = 0; h < heads; h++) {
      const base = (rowStart + h * (nope + v) + nope) * C; // first element of W_UV[h] in kv_b
      for (let e0 = 0; e0 < v * C; e0 += per) {
        const n = Math.min(per, v * C - e0);
        const vals = decode(w.info.dtype, await ctx.read(w.name, (base + e0) * srcBytes, n * srcBytes), ctx.decoded(n));
        const sc = await scaleRows(Math.floor((base + e0) / C), Math.floor((base + e0 + n - 1) / C) + 1);
        const out = output(n);
        let r = Math.floor((base + e0) / C);
        let c = (base + e0) % C;
        for (let k = 0; k < n; k++) {
          store(out, k, sc ? vals[k] * sc.s[(Math.floor(r / blockN) - sc.first) * kbC + Math.floor(c / blockK)] : vals[k]);
          if (++c === C) (c = 0), r++;
        }
        await ctx.write(weight, (h * v * C + e0) * dstBytes, bytesOf(out));
      }
    }
    return;
  }

  const tile = Math.max(1, Math.floor(per / nope)); // output rows (kv_b columns) per tile
  for (let h = 0; h < heads; h++) {
    const r0 = rowStart + h * (nope + v); // W_UK[h][c][i] = kv_b[r0 + i][c]
    const sc = await scaleRows(r0, r0 + nope);
    for (let c0 = 0; c0 < C; c0 += tile) {
      const c1 = Math.min(C, c0 + tile);
      const width = c1 - c0;
      const vals = ctx.decoded(nope * width); // vals[i·width + (c − c0)]
      if (width === C) decode(w.info.dtype, await ctx.read(w.name, r0 * C * srcBytes, nope * C * srcBytes), vals);
      else for (let i = 0; i < nope; i++) decode(w.info.dtype, await ctx.read(w.name, ((r0 + i) * C + c0) * srcBytes, width * srcBytes), vals.subarray(i * width, (i + 1) * width));
      const out = output(width * nope);
      for (let c = c0; c < c1; c++) {
        const sCol = Math.floor(c / blockK);
        for (let i = 0; i < nope; i++) {
          const x = vals[i * width + c - c0];
          store(out, (c - c0) * nope + i, sc ? x * sc.s[(Math.floor((r0 + i) / blockN) - sc.first) * kbC + sCol] : x);
        }
      }
      await ctx.write(weight, (h * C * nope + c0 * nope) * dstBytes, bytesOf(out));
    }
  }
}

/** Source values as float32 (exact for F8_E4M3, BF16 and F32) into `out`. */
function decode(dtype: SafetensorsDType, bytes: Uint8Array, out: Float32Array): Float32Array {
  const n = out.length;
  if (dtype === 'F8_E4M3') {
    for (let i = 0; i < n; i++) out[i] = E4M3FN_VALUES[bytes[i]];
  } else if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer, out.byteOffset, n);
    for (let i = 0; i < n; i++) bits[i] = (bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16;
  } else if (dtype === 'F32') {
    out.set(float32FromBytes(bytes));
  } else {
    throw new Error(`loader bug: kv-b-split source of dtype ${dtype}`);
  }
  return out;
}
