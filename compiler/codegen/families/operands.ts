/**
 * How families read their operands: as rows of a contiguous last axis with one row stride (most
 * kernels), or axis by axis. Each helper throws when the operand is laid out in a way the family
 * does not handle, so an unsupported view is a compile error, not a wrong answer.
 */
import type { Dim } from '../../ir/types.ts';
import type { Operand } from '../kernel-family.ts';
import { mono, monoExpr, mul, sameMono } from '../layout.ts';

/** A C expression for a product of dims: 'B', 'T', 'B*9', '4'. */
export function productExpr(dims: readonly Dim[]): string {
  return String(monoExpr(dims.reduce((m, d) => mul(m, mono(d)), mono(1))));
}

export interface RowsView {
  readonly rows: string; // C expression in the step symbols
  readonly width: number; // elements of a row (the last axis)
  readonly rowStride: number | string; // elements from one row to the next
}

/** The first `count` axes of an operand collapsed into one (size-1 axes ignored): a product and one stride. */
export function collapseLeading(what: string, o: Operand, count: number): { rows: string; stride: number | string } {
  const lead = o.shape.slice(0, count).map((d, i) => ({ d, s: o.strides[i] })).filter((x) => x.d !== 1);
  for (let i = 0; i + 1 < lead.length; i++) {
    if (!sameMono(lead[i].s, mul(lead[i + 1].s, mono(lead[i + 1].d)))) throw new Error(`${what}: leading axes do not collapse into rows`);
  }
  return { rows: productExpr(o.shape.slice(0, count)), stride: lead.length > 0 ? monoExpr(lead[lead.length - 1].s) : 0 };
}

/** x[..., width] as rows: the last axis contiguous, the leading axes collapsing to one stride. */
export function rowsOf(what: string, o: Operand): RowsView {
  const r = o.shape.length;
  const width = o.shape[r - 1];
  if (typeof width !== 'number') throw new Error(`${what}: the last axis must be a constant, got ${width}`);
  if (!sameMono(o.strides[r - 1], mono(1)) && width !== 1) throw new Error(`${what}: the last axis must be contiguous`);
  const { rows, stride } = collapseLeading(what, o, r - 1);
  return { rows, width, rowStride: stride === 0 ? width : stride };
}

/** A constant size, or an error naming the operand and axis. */
export function constDim(what: string, o: Operand, axis: number): number {
  const d = o.shape[axis < 0 ? o.shape.length + axis : axis];
  if (typeof d !== 'number') throw new Error(`${what}: axis ${axis} must be a constant, got ${d}`);
  return d;
}

/** The stride of one axis as a number or a C expression in the step symbols. */
export function strideOf(o: Operand, axis: number): number | string {
  return monoExpr(o.strides[axis < 0 ? o.strides.length + axis : axis]);
}

/** Throws unless the operand is contiguous (ignoring size-1 axes), for operands a family indexes densely. */
export function expectContiguous(what: string, o: Operand): void {
  let acc = mono(1);
  for (let i = o.shape.length - 1; i >= 0; i--) {
    if (o.shape[i] !== 1 && !sameMono(o.strides[i], acc)) throw new Error(`${what}: must be contiguous`);
    acc = mul(acc, mono(o.shape[i]));
  }
}

/** C type of an element of each IR dtype, as the prelude declares them. */
export const CTYPE: Readonly<Record<string, string>> = { f32: 'float', bf16: 'bf16_t', f16: 'half_t', fp8e4m3: 'fp8_t', i32: 'int32_t', i64: 'int64_t' };
