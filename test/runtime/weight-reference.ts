import { decodeBF16, decodeBF16Array, encodeBF16 } from '../../compiler/checkpoint/bf16.ts';
import type { Checkpoint } from '../../compiler/checkpoint/checkpoint.ts';
import { E4M3FN_VALUES, encodeE4M3FN } from '../../compiler/checkpoint/fp8.ts';
import { float32FromBytes } from '../../compiler/checkpoint/host-endian.ts';
import type { Mesh } from '../../compiler/config/mesh.ts';
import { SINGLE_RANK } from '../../compiler/config/mesh.ts';
import { applyRecipe } from '../../compiler/ir/recipes.ts';
import { rankTensors } from '../../compiler/model/tensor-parallel.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { tensor } from '../../compiler/ir/tensor.ts';
import type { DType } from '../../compiler/ir/types.ts';
import type { ManifestWeight } from '../../compiler/package/manifest.ts';

/**
 * The interpreter's view of the weights, independent of the loader: whole source tensors decoded
 * to float64, the recipe applied in float64 (compiler/ir/recipes.ts), then rounded to the
 * weight's dtype.
 */
export async function decodeSource(checkpoint: Checkpoint, name: string): Promise<Tensor> {
  const info = checkpoint.tensor(name)!;
  const bytes = await checkpoint.readTensor(name);
  let values: Float64Array;
  if (info.dtype === 'F8_E4M3') values = map(bytes, (b) => E4M3FN_VALUES[b]);
  else if (info.dtype === 'BF16') values = new Float64Array(decodeBF16Array(bytes));
  else if (info.dtype === 'F32') values = new Float64Array(float32FromBytes(bytes));
  else throw new Error(`test: source dtype ${info.dtype}`);
  return tensor(info.shape, values);
}

// Plain loops: TypedArray.from with a map function goes through the iterator protocol, ~50× slower.
function map(values: ArrayLike<number>, f: (x: number) => number): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f(values[i]);
  return out;
}

/**
 * The weight's float64 values as the interpreter derives them (not yet rounded); on a mesh, from
 * the rank's slices of the sources (rankTensors).
 */
export async function interpreterWeight(checkpoint: Checkpoint, w: ManifestWeight, mesh: Mesh = SINGLE_RANK, rank = 0): Promise<Float64Array> {
  const source = async (name: string) => rankTensors(new Map([[name, await decodeSource(checkpoint, name)]]), mesh, rank).get(name)!;
  if (!w.recipe) return (await source(w.checkpoint!)).data;
  const sources = await Promise.all(w.recipe.sources.map(source));
  const t = applyRecipe(w.recipe, sources);
  if (t.shape.join(',') !== w.shape.join(',')) throw new Error(`test: recipe of ${w.name} gives [${t.shape}], the manifest says [${w.shape}]`);
  return t.data;
}

/**
 * bf16 bits of a float64 by search: encodeBF16 (through float32, so possibly off by one code when
 * float32 rounding lands on a bf16 midpoint), then the nearest of it and its neighbours, ties to
 * the even code. Finite, non-overflowing values only.
 */
export function referenceBf16(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  const c = encodeBF16(a) & 0x7fff;
  let best = -1;
  let bestErr = Infinity;
  for (const k of [c - 1, c, c + 1]) {
    if (k < 0 || k > 0x7f7f) continue;
    const err = Math.abs(decodeBF16(k) - a);
    if (err < bestErr || (err === bestErr && (k & 1) === 0)) (best = k), (bestErr = err);
  }
  return sign | best;
}

/** Bytes of float64 values rounded to a kernel dtype (the reference side). */
export function encodeAs(values: Float64Array, dtype: DType): Uint8Array {
  if (dtype === 'bf16') return new Uint8Array(new Uint16Array(map(values, referenceBf16)).buffer);
  if (dtype === 'f32') return new Uint8Array(new Float32Array(values).buffer);
  if (dtype === 'fp8e4m3') return new Uint8Array(map(values, encodeE4M3FN));
  throw new Error(`test: dtype ${dtype}`);
}

/** Float64 values of loaded bytes in a kernel dtype. */
export function decodeAs(bytes: Uint8Array, dtype: DType): Float64Array {
  if (dtype === 'bf16') return new Float64Array(decodeBF16Array(bytes));
  if (dtype === 'f32') return new Float64Array(float32FromBytes(bytes));
  if (dtype === 'fp8e4m3') return map(bytes, (b) => E4M3FN_VALUES[b]);
  throw new Error(`test: dtype ${dtype}`);
}

/** The value a float64 becomes in a kernel dtype. */
export function roundAs(values: Float64Array, dtype: DType): Float64Array {
  return decodeAs(encodeAs(values, dtype), dtype);
}
