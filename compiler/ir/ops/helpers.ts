import type { Attrs } from '../graph.ts';
import type { Cost } from '../op.ts';
import { ShapeError } from '../op.ts';
import type { Bindings, DType, Dim, Shape, TensorType } from '../types.ts';
import { byteSize, formatShape, formatType, resolveShape, numel, sameDim } from '../types.ts';

/** Helpers shared by op declarations: argument checks and the common cost shapes. */

export function expectArity(op: string, inputs: readonly TensorType[], n: number): void {
  if (inputs.length !== n) throw new ShapeError(op, `expects ${n} inputs, got ${inputs.length}`);
}

export function expectRank(op: string, what: string, t: TensorType, rank: number): void {
  if (t.shape.length !== rank) throw new ShapeError(op, `${what} must have rank ${rank}, got ${formatType(t)}`);
}

export function expectDim(op: string, what: string, actual: Dim, expected: Dim): void {
  if (!sameDim(actual, expected)) throw new ShapeError(op, `${what} is ${actual}, expected ${expected}`);
}

export function expectDType(op: string, what: string, t: TensorType, dtypes: readonly DType[]): void {
  if (!dtypes.includes(t.dtype)) throw new ShapeError(op, `${what} has dtype ${t.dtype}, expected ${dtypes.join(' or ')}`);
}

export function expectSameShape(op: string, a: TensorType, b: TensorType): void {
  if (a.shape.length !== b.shape.length || !a.shape.every((d, i) => sameDim(d, b.shape[i]))) {
    throw new ShapeError(op, `shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ`);
  }
}

export function numAttr(op: string, attrs: Attrs, key: string): number {
  const v = attrs[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ShapeError(op, `attr ${key} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function boolAttr(op: string, attrs: Attrs, key: string): boolean {
  const v = attrs[key];
  if (typeof v !== 'boolean') throw new ShapeError(op, `attr ${key} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

export function dtypeAttr(attrs: Attrs, key: string, fallback: DType): DType {
  const v = attrs[key];
  return typeof v === 'string' ? (v as DType) : fallback;
}

export function last(shape: Shape): Dim {
  return shape[shape.length - 1];
}

/** Bytes read and written by a node: every input once, every output once. */
export function ioBytes(inputs: readonly TensorType[], outputs: readonly TensorType[], bindings: Bindings): number {
  let bytes = 0;
  for (const t of inputs) bytes += byteSize(t, bindings);
  for (const t of outputs) bytes += byteSize(t, bindings);
  return bytes;
}

/** The cost of an op doing `flopsPerOutput` per output element and touching each tensor once. */
export function elementwiseCost(flopsPerOutput: number) {
  return (inputs: readonly TensorType[], outputs: readonly TensorType[], _attrs: Attrs, bindings: Bindings): Cost => ({
    flops: flopsPerOutput * numel(resolveShape(outputs[0].shape, bindings)),
    bytes: ioBytes(inputs, outputs, bindings),
  });
}
