/** A dense row-major tensor of float64 values: the interpreter's and the references' currency. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export function tensor(shape: readonly number[], data?: Float64Array | number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = data === undefined ? new Float64Array(n) : data instanceof Float64Array ? data : Float64Array.from(data);
  if (d.length !== n) throw new Error(`tensor of shape [${shape}] needs ${n} values, got ${d.length}`);
  return { shape: [...shape], data: d };
}

/** ‖a − b‖₂ / ‖b‖₂ (0 when both are zero). */
export function relativeError(a: Tensor | Float64Array, b: Tensor | Float64Array): number {
  const x = a instanceof Float64Array ? a : a.data;
  const y = b instanceof Float64Array ? b : b.data;
  if (x.length !== y.length) throw new Error(`relativeError: lengths ${x.length} and ${y.length} differ`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i] - y[i]) ** 2;
    den += y[i] ** 2;
  }
  if (den === 0) return num === 0 ? 0 : Infinity;
  return Math.sqrt(num / den);
}
