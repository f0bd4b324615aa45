/** Element types of IR tensors. fp8e4m3 is OCP e4m3fn (max 448, no infinities). */
export type DType = 'f32' | 'bf16' | 'f16' | 'fp8e4m3' | 'i32' | 'i64';

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  f32: 4,
  bf16: 2,
  f16: 2,
  fp8e4m3: 1,
  i32: 4,
  i64: 8,
};

/**
 * Sizes that vary per step: T tokens in a prefill step, B sequences (one token each) in a decode
 * step, S positions a sequence's attention reads (its slot table's width), P rows of the paged KV
 * pools (fixed at load: pages × page size). Everything else is a constant of the config.
 */
export type Sym = 'T' | 'B' | 'S' | 'P';
export const SYMBOLS: readonly Sym[] = ['T', 'B', 'S', 'P'];
export type Dim = number | Sym;
export type Shape = readonly Dim[];
export type Bindings = Readonly<Partial<Record<Sym, number>>>;

export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

/** The interned types of one dtype whose shapes start with one prefix, by the next dim. */
interface TypesByPrefix {
  type?: TensorType; // the type whose shape is the prefix itself
  readonly byNextDim: Map<Dim, TypesByPrefix>;
}

const internedTypes = new Map<DType, TypesByPrefix>();

/**
 * The frozen type of `dtype` and `shape`. Equal types are one object: a model has a few hundred
 * distinct types over tens of thousands of values, which then share them. Looked up dim by dim, so
 * that finding a type builds no key string.
 */
export function tensorType(dtype: DType, shape: Shape): TensorType {
  let entry: TypesByPrefix | undefined = internedTypes.get(dtype);
  if (!entry) internedTypes.set(dtype, (entry = { byNextDim: new Map() }));
  for (let i = 0; i < shape.length; i++) {
    let next: TypesByPrefix | undefined = entry.byNextDim.get(shape[i]);
    if (!next) entry.byNextDim.set(shape[i], (next = { byNextDim: new Map() }));
    entry = next;
  }
  return (entry.type ??= Object.freeze({ dtype, shape: Object.freeze([...shape]) }));
}

export function sameType(a: TensorType, b: TensorType): boolean {
  return a === b || (a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]));
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function formatType(t: TensorType): string {
  return `${t.dtype}${formatShape(t.shape)}`;
}

export function sameDim(a: Dim, b: Dim): boolean {
  return a === b;
}

/** The concrete size of a dim under bindings; throws when a symbol is unbound. */
export function resolveDim(d: Dim, bindings: Bindings): number {
  if (typeof d === 'number') return d;
  const v = bindings[d];
  if (v === undefined) throw new Error(`symbol ${d} is not bound`);
  return v;
}

export function resolveShape(shape: Shape, bindings: Bindings): number[] {
  return shape.map((d) => resolveDim(d, bindings));
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function byteSize(t: TensorType, bindings: Bindings): number {
  return numel(resolveShape(t.shape, bindings)) * DTYPE_BYTES[t.dtype];
}
