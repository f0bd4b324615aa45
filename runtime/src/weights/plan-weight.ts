import type { TensorInfo } from '../../../compiler/checkpoint/safetensors-header.ts';
import type { Mesh } from '../../../compiler/config/mesh.ts';
import { meshCoordinates, SINGLE_RANK } from '../../../compiler/config/mesh.ts';
import { rankSources } from '../../../compiler/ir/recipes.ts';
import type { TensorSlice } from '../../../compiler/model/tensor-parallel.ts';
import { tpSlice } from '../../../compiler/model/tensor-parallel.ts';
import type { ManifestWeight } from '../../../compiler/package/manifest.ts';
import { DTYPE_BYTES } from '../../../compiler/ir/types.ts';
import type { WeightCheckpoint } from './checkpoint-reader.ts';
import { weightSources } from './check-sources.ts';
import { conversion, type Conversion } from './convert.ts';
import { copyLayout, type Segment } from './copy-layout.ts';
import type { WeightProblem } from './weight-load-error.ts';

export interface SourceRef {
  readonly name: string;
  /** The shard holding it (full path). */
  readonly file: string | null;
  /** The whole checkpoint tensor. */
  readonly info: TensorInfo;
  /** On a tensor-parallel mesh, the part of it this rank reads (tensor-parallel.ts); else the whole. */
  readonly slice?: TensorSlice;
  /** The shape the recipe sees: the slice's, or the tensor's. */
  readonly shape: readonly number[];
}

/** A weight made by moving source elements, each converted to the weight's dtype. */
export interface CopyPlan {
  readonly kind: 'copy';
  readonly weight: ManifestWeight;
  readonly sources: readonly SourceRef[];
  /** Per source, how its elements become the weight's. */
  readonly conversions: readonly Conversion[];
  readonly segments: readonly Segment[];
}

/** kv_b_proj dequantized in float64 and split per head, rounded once to the weight's dtype. */
export interface KvBSplitPlan {
  readonly kind: 'kv-b-split';
  readonly weight: ManifestWeight;
  readonly w: SourceRef;
  readonly scale: SourceRef | null;
  readonly heads: number;
  readonly nope: number;
  readonly v: number;
  readonly blockN: number;
  readonly blockK: number;
  readonly part: 'uk' | 'uv';
  /** The first kv_b row this rank reads (its first head's, on a tensor-parallel mesh). */
  readonly rowStart: number;
}

export type WeightPlan = CopyPlan | KvBSplitPlan;

/** Which rank of which mesh a load is for: rank r reads its tensor-parallel slices and stacks its experts. */
export interface RankOf {
  readonly mesh: Mesh;
  readonly rank: number;
}

export const ONLY_RANK: RankOf = Object.freeze({ mesh: SINGLE_RANK, rank: 0 });

/**
 * How to make a weight from the checkpoint, or every reason it cannot be made (shapes that do
 * not fit the recipe, conversions the loader refuses). Run over all weights before any byte goes
 * to the sink. Assumes checkWeightSources passed: every source is in the checkpoint. On a mesh,
 * the recipe applies to this rank's slices of the sources.
 */
export function planWeight(weight: ManifestWeight, checkpoint: WeightCheckpoint, files: ReadonlyMap<string, string>, rank: RankOf = ONLY_RANK): WeightPlan | WeightProblem[] {
  // An expert-parallel rank stacks its part of the experts (recipes.ts rankSources).
  const names = weight.recipe ? rankSources(weight.recipe, weightSources(weight), meshCoordinates(rank.mesh, rank.rank).e) : weightSources(weight);
  const sources = names.map((name): SourceRef => {
    const info = checkpoint.tensor(name);
    if (!info) throw new Error(`loader bug: ${name} passed checkWeightSources but is not in the checkpoint`);
    const slice = info.shape.length === 2 ? tpSlice(name, info.shape, rank.mesh, rank.rank) : undefined;
    if (!slice) return { name, file: files.get(name) ?? null, info, shape: info.shape };
    const shape = slice.axis === 0 ? [slice.count, info.shape[1]] : [info.shape[0], slice.count];
    return { name, file: files.get(name) ?? null, info, slice, shape };
  });
  const ofWeight = (problem: string, expected?: string): WeightProblem[] => [{ tensor: weight.name, file: null, problem, expected }];
  const numel = weight.shape.reduce((a, d) => a * d, 1);
  if (weight.bytes !== numel * DTYPE_BYTES[weight.dtype]) return ofWeight(`(manifest weight) has ${weight.bytes} bytes`, `${numel * DTYPE_BYTES[weight.dtype]} for ${weight.dtype}[${weight.shape.join(',')}]`);
  if (weight.recipe?.kind === 'kv-b-split') return planKvBSplit(weight, sources, ofWeight);

  const problems: WeightProblem[] = [];
  const conversions: Conversion[] = [];
  for (const s of sources) {
    const c = conversion(s.info.dtype, weight.dtype);
    if (typeof c === 'string') problems.push({ tensor: s.name, file: s.file, problem: `(read by weight ${JSON.stringify(weight.name)}, ${weight.dtype}) ${c}` });
    else conversions.push(c);
  }
  if (problems.length > 0) return problems;
  let layout;
  try {
    layout = copyLayout(weight.recipe ?? null, sources.map((s) => s.shape));
  } catch (e) {
    return ofWeight(`(manifest weight, recipe ${weight.recipe?.kind}) cannot be made from ${sources.map((s) => `${s.name} [${s.shape.join(',')}]`).join(', ')}: ${(e as Error).message}`);
  }
  const shape = layout.shape;
  if (shape.length !== weight.shape.length || shape.some((d, i) => d !== weight.shape[i])) {
    return ofWeight(`(manifest weight) would have shape [${shape.join(',')}] from its recipe`, `[${weight.shape.join(',')}] as the manifest says`);
  }
  const covered = layout.segments.reduce((a, s) => a + s.count * (s.rows ?? 1), 0);
  if (covered !== numel) throw new Error(`loader bug: the layout of ${weight.name} covers ${covered} of ${numel} elements`);
  return { kind: 'copy', weight, sources, conversions, segments: sources.some((s) => s.slice) ? inCheckpoint(layout.segments, sources) : layout.segments };
}

/**
 * Segments over sliced sources (element indices into the slice) as segments over the whole
 * checkpoint tensors: a row slice is one offset; a column slice is a strided segment over whole
 * rows (DeepSeek-V3 at tp=8 would otherwise plan ~10⁸ segments, one a row of every expert's
 * down_proj), else split at each row.
 */
function inCheckpoint(segments: readonly Segment[], sources: readonly SourceRef[]): Segment[] {
  const out: Segment[] = [];
  for (const seg of segments) {
    const { slice, info } = sources[seg.src];
    const K = info.shape[1];
    if (!slice) {
      out.push(seg);
    } else if (slice.axis === 0) {
      out.push({ ...seg, srcStart: seg.srcStart + slice.start * K });
    } else if (seg.srcStart % slice.count === 0 && seg.count % slice.count === 0) {
      // Whole rows of the slice (a weight, or one expert's, as it is): one strided segment.
      out.push({ src: seg.src, srcStart: (seg.srcStart / slice.count) * K + slice.start, count: slice.count, dstStart: seg.dstStart, rows: seg.count / slice.count, srcStride: K, dstStride: slice.count });
    } else {
      for (let done = 0; done < seg.count; ) {
        const at = seg.srcStart + done;
        const [row, col] = [Math.floor(at / slice.count), at % slice.count];
        const count = Math.min(seg.count - done, slice.count - col);
        out.push({ src: seg.src, srcStart: row * K + slice.start + col, count, dstStart: seg.dstStart + done });
        done += count;
      }
    }
  }
  return out;
}

function planKvBSplit(weight: ManifestWeight, sources: SourceRef[], ofWeight: (problem: string, expected?: string) => WeightProblem[]): KvBSplitPlan | WeightProblem[] {
  const a = weight.recipe!.attrs;
  const ints = ['heads', 'nope', 'v', 'blockN', 'blockK'].map((k) => a[k]);
  if (!ints.every((x) => Number.isSafeInteger(x) && (x as number) > 0) || (a.part !== 'uk' && a.part !== 'uv')) {
    return ofWeight(`(manifest weight) has kv-b-split attributes ${JSON.stringify(a)}`, 'positive heads, nope, v, blockN, blockK and part uk or uv');
  }
  const [heads, nope, v, blockN, blockK] = ints as number[];
  const part = a.part;
  if (sources.length < 1 || sources.length > 2) return ofWeight(`(manifest weight) reads ${sources.length} tensors for kv-b-split`, 'kv_b_proj.weight and, when quantized, its weight_scale_inv');
  const [w, scale] = [sources[0], sources[1] ?? null];
  const problems: WeightProblem[] = [];
  const R = heads * (nope + v);
  if (w.shape.length !== 2 || w.shape[0] !== R || w.slice?.axis === 1) {
    problems.push({ tensor: w.name, file: w.file, problem: `has shape [${w.shape.join(',')}]${w.slice ? ' in this rank\'s slice' : ''}`, expected: `[${R}, kv_lora] (heads·(nope+v) rows) for weight ${weight.name}` });
  }
  if (!['F8_E4M3', 'BF16', 'F32'].includes(w.info.dtype)) problems.push({ tensor: w.name, file: w.file, problem: `is ${w.info.dtype}`, expected: 'F8_E4M3, BF16 or F32 for kv-b-split' });
  if (weight.dtype !== 'bf16' && weight.dtype !== 'f32') problems.push(...ofWeight(`(manifest weight) is ${weight.dtype}`, 'bf16 or f32 for kv-b-split'));
  if (problems.length > 0) return problems;
  const C = w.shape[1];
  if (scale) {
    const want = [Math.ceil(R / blockN), Math.ceil(C / blockK)];
    if (scale.info.dtype !== 'F32' || scale.shape.length !== 2 || scale.shape[0] !== want[0] || scale.shape[1] !== want[1]) {
      return [{ tensor: scale.name, file: scale.file, problem: `is ${scale.info.dtype}[${scale.shape.join(',')}]${scale.slice ? ' in this rank\'s slice' : ''}`, expected: `F32[${want.join(',')}], the ${blockN}×${blockK} block scales of ${w.name}` }];
    }
  }
  const shape = part === 'uk' ? [heads, C, nope] : [heads, v, C];
  if (shape.length !== weight.shape.length || shape.some((d, i) => d !== weight.shape[i])) {
    return ofWeight(`(manifest weight) would have shape [${shape.join(',')}] from kv-b-split`, `[${weight.shape.join(',')}] as the manifest says`);
  }
  return { kind: 'kv-b-split', weight, w, scale, heads, nope, v, blockN, blockK, part, rowStart: w.slice?.start ?? 0 };
}
