/**
 * The reference forward's view of a checkpoint: every tensor by its Hugging Face name, values as
 * float64. FP8 weights hold their decoded e4m3 values (exact) next to their float32
 * `weight_scale_inv`; w = value × scale[⌊n/blockN⌋, ⌊k/blockK⌋]. Without quantization a linear is
 * a plain weight with no scale tensor.
 */
export interface RefTensor {
  shape: number[];
  data: Float64Array; // row-major
}

export type RefWeights = ReadonlyMap<string, RefTensor>;

/** The tensor `name`, checked against `shape` when given; a missing tensor names itself. */
export function tensorOf(w: RefWeights, name: string, shape?: readonly number[]): RefTensor {
  const t = w.get(name);
  if (!t) throw new Error(`reference: weight ${name} is missing`);
  const want = shape ?? t.shape;
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i]) || t.data.length !== size) {
    throw new Error(`reference: weight ${name} has shape [${t.shape}] (${t.data.length} values), expected [${want}]`);
  }
  return t;
}
