import type { Attrs, DerivedRecipe } from '../../../compiler/ir/graph.ts';

/**
 * Recipes that only move elements (concat-rows, interleave-rows, interleave-row-scales, stack of
 * those) as a list of copies, mirroring compiler/ir/recipes.ts element for element: elements
 * [srcStart, srcStart + count) of source `src` (row-major) land at element dstStart of the weight.
 * A move commutes with rounding each element to the weight's dtype, so the loader converts and
 * places stored bytes without ever forming the float64 tensor.
 */
export interface Segment {
  readonly src: number;
  readonly srcStart: number;
  readonly count: number;
  readonly dstStart: number;
  /**
   * A strided segment (a column slice's rows, plan-weight.ts): the copy repeats `rows` times, each
   * `srcStride` elements further in the source and `dstStride` further in the weight.
   */
  readonly rows?: number;
  readonly srcStride?: number;
  readonly dstStride?: number;
}

/** A strided segment as its plain copies (itself when it is plain). */
export function plainSegments(s: Segment): Segment[] {
  if (s.rows === undefined) return [s];
  return Array.from({ length: s.rows }, (_, r) => ({ src: s.src, srcStart: s.srcStart + r * s.srcStride!, count: s.count, dstStart: s.dstStart + r * s.dstStride! }));
}

export interface CopyLayout {
  readonly shape: readonly number[];
  readonly segments: readonly Segment[];
}

type Shapes = readonly (readonly number[])[];

const numel = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);

/** The copies that make a weight from its sources; null recipe: the one source as it is. */
export function copyLayout(recipe: DerivedRecipe | null, shapes: Shapes): CopyLayout {
  if (!recipe) return { shape: shapes[0], segments: [{ src: 0, srcStart: 0, count: numel(shapes[0]), dstStart: 0 }] };
  return layoutOf(recipe.kind, recipe.attrs, shapes);
}

export function isCopyRecipe(kind: string): boolean {
  return kind in LAYOUTS;
}

function layoutOf(kind: string, attrs: Attrs, shapes: Shapes): CopyLayout {
  const layout = LAYOUTS[kind];
  if (!layout) throw new Error(`recipe ${kind} is not one the loader copies (${Object.keys(LAYOUTS).join(', ')})`);
  const out: Segment[] = [];
  const shape = layout(attrs, shapes, (src, srcStart, count, dstStart) => {
    if (count === 0) return;
    const last = out[out.length - 1];
    if (last && last.src === src && last.srcStart + last.count === srcStart && last.dstStart + last.count === dstStart) {
      out[out.length - 1] = { ...last, count: last.count + count };
    } else out.push({ src, srcStart, count, dstStart });
  });
  return { shape, segments: out };
}

type Emit = (src: number, srcStart: number, count: number, dstStart: number) => void;

const LAYOUTS: Record<string, (attrs: Attrs, shapes: Shapes, emit: Emit) => readonly number[]> = {
  'concat-rows': (_attrs, shapes, emit) => {
    need(shapes.length >= 1, 'concat-rows needs at least one source');
    shapes.forEach((s) => need(s.length === 2 && s[1] === shapes[0][1], `concat-rows needs 2-D sources with equal columns, got ${fmt(shapes)}`));
    let at = 0;
    shapes.forEach((s, i) => {
      emit(i, 0, numel(s), at);
      at += numel(s);
    });
    return [shapes.reduce((a, s) => a + s[0], 0), shapes[0][1]];
  },
  'interleave-rows': (attrs, shapes, emit) => {
    need(shapes.length === 2 && shapes.every((s) => s.length === 2 && s[0] === shapes[0][0] && s[1] === shapes[0][1]), `interleave-rows needs two 2-D sources of one shape, got ${fmt(shapes)}`);
    const g = positive(attrs.group, 'group');
    const [N, K] = shapes[0];
    for (let start = 0, at = 0; start < N; start += g) {
      const count = Math.min(g, N - start);
      emit(0, start * K, count * K, at);
      at += count * K;
      emit(1, start * K, count * K, at);
      at += count * K;
    }
    return [2 * N, K];
  },
  'interleave-row-scales': (attrs, shapes, emit) => {
    need(shapes.length === 2 && shapes.every((s) => s.length === 2 && s[0] === shapes[0][0] && s[1] === shapes[0][1]), `interleave-row-scales needs two 2-D sources of one shape, got ${fmt(shapes)}`);
    const [g, bn, N] = [positive(attrs.group, 'group'), positive(attrs.blockN, 'blockN'), positive(attrs.rows, 'rows')];
    const kb = shapes[0][1];
    const groups = Math.ceil(N / g);
    for (let q = 0; q < groups; q++) {
      const block = Math.floor((q * g) / bn);
      need(block < shapes[0][0], `interleave-row-scales: group ${q} reads scale row ${block} of ${shapes[0][0]}`);
      emit(0, block * kb, kb, 2 * q * kb);
      emit(1, block * kb, kb, (2 * q + 1) * kb);
    }
    return [2 * groups, kb];
  },
  stack: (attrs, shapes, emit) => {
    const each = attrs.each;
    const arity = typeof each === 'string' ? positive(attrs.arity, 'arity') : 1;
    need(shapes.length > 0 && shapes.length % arity === 0, `stack of ${shapes.length} sources in groups of ${arity}`);
    let partShape: readonly number[] | undefined;
    for (let p = 0; p < shapes.length / arity; p++) {
      const part = typeof each === 'string' ? layoutOf(each, attrs, shapes.slice(p * arity, (p + 1) * arity)) : { shape: shapes[p], segments: [{ src: 0, srcStart: 0, count: numel(shapes[p]), dstStart: 0 }] };
      partShape ??= part.shape;
      need(part.shape.length === partShape.length && part.shape.every((d, i) => d === partShape![i]), `stack parts differ in shape: ${fmt([partShape, part.shape])}`);
      const size = numel(partShape);
      for (const s of part.segments) emit(p * arity + s.src, s.srcStart, s.count, p * size + s.dstStart);
    }
    return [shapes.length / arity, ...partShape!];
  },
};

function need(ok: boolean, why: string): void {
  if (!ok) throw new Error(why);
}

function positive(v: unknown, name: string): number {
  need(Number.isSafeInteger(v) && (v as number) > 0, `attribute ${name} is ${JSON.stringify(v)}, not a positive integer`);
  return v as number;
}

function fmt(shapes: Shapes): string {
  return shapes.map((s) => `[${s.join(',')}]`).join(' ');
}
