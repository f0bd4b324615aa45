/** Float64 vector helpers for the reference forward: plain loops, nothing shared with the IR. */
export type Vec = Float64Array;

/** y = W·x with W row-major [rows, cols]. */
export function matVec(W: Float64Array, rows: number, cols: number, x: ArrayLike<number>): Vec {
  if (x.length !== cols) throw new Error(`reference: matVec expects ${cols} inputs, got ${x.length}`);
  const y = new Float64Array(rows);
  for (let n = 0; n < rows; n++) {
    let acc = 0;
    const base = n * cols;
    for (let k = 0; k < cols; k++) acc += W[base + k] * x[k];
    y[n] = acc;
  }
  return y;
}

/** Σ a[i]·b[i] over n elements starting at the two offsets. */
export function dot(a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += a[aOff + i] * b[bOff + i];
  return acc;
}

/** x · 1/sqrt(mean(x²) + eps) · w */
export function rmsNorm(x: ArrayLike<number>, w: ArrayLike<number>, eps: number): Vec {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const r = 1 / Math.sqrt(ss / x.length + eps);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] * r * w[i];
  return y;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function silu(x: number): number {
  return x * sigmoid(x);
}

/** Softmax with the max subtracted so large scores cannot overflow exp. */
export function softmax(xs: readonly number[]): number[] {
  let max = -Infinity;
  for (const x of xs) max = Math.max(max, x);
  const e = xs.map((x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export function add(a: ArrayLike<number>, b: ArrayLike<number>): Vec {
  const y = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] + b[i];
  return y;
}
