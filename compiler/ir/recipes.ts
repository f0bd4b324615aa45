import type { Attrs, DerivedRecipe } from './graph.ts';
import type { Tensor } from './tensor.ts';
import { tensor } from './tensor.ts';

/**
 * Derived weights: kernel operands that are not checkpoint tensors but are made from them once, at
 * load. Each recipe kind is declared here once with its float64 semantics; the interpreter applies
 * it to checkpoint tensors, and the runtime loader applies the same recipe to the stored bytes.
 */
export interface RecipeDef {
  readonly kind: string;
  readonly doc: string;
  apply(sources: readonly Tensor[], attrs: Attrs): Tensor;
}

const recipes = new Map<string, RecipeDef>();

function defineRecipe(def: RecipeDef): void {
  recipes.set(def.kind, def);
}

export function applyRecipe(recipe: Pick<DerivedRecipe, 'kind' | 'attrs'>, sources: readonly Tensor[]): Tensor {
  const def = recipes.get(recipe.kind);
  if (!def) throw new Error(`unknown weight recipe ${recipe.kind}`);
  return def.apply(sources, recipe.attrs);
}

/**
 * The sources one rank's recipe reads: all of them, except that a stack split over `epRanks`
 * expert-parallel ranks (attr `epRanks`) lists every expert and expert-parallel rank e stacks the
 * e-th of epRanks equal parts (its experts e·E/ep … (e+1)·E/ep − 1, each `arity` sources). The
 * loader makes a rank's weights the same way.
 */
export function rankSources<T>(recipe: Pick<DerivedRecipe, 'kind' | 'attrs'>, sources: readonly T[], epRank: number): readonly T[] {
  const parts = recipe.attrs.epRanks;
  if (recipe.kind !== 'stack' || typeof parts !== 'number' || parts === 1) return sources;
  if (sources.length % parts !== 0 || epRank < 0 || epRank >= parts) throw new Error(`stack over ${parts} expert-parallel ranks: ${sources.length} sources, rank ${epRank}`);
  const count = sources.length / parts;
  return sources.slice(epRank * count, (epRank + 1) * count);
}

/** Rows of `t` (2-D) in [start, start + count). */
function rows(t: Tensor, start: number, count: number): Float64Array {
  const K = t.shape[1];
  return t.data.subarray(start * K, (start + count) * K);
}

defineRecipe({
  kind: 'concat-rows',
  doc: 'stack 2-D tensors with equal column counts on top of each other',
  apply(sources) {
    const K = sources[0].shape[1];
    const N = sources.reduce((a, s) => a + s.shape[0], 0);
    const out = new Float64Array(N * K);
    let at = 0;
    for (const s of sources) {
      out.set(s.data, at);
      at += s.data.length;
    }
    return tensor([N, K], out);
  },
});

defineRecipe({
  kind: 'interleave-rows',
  doc: 'rows of a and b alternating in groups of `group`: a[0:g], b[0:g], a[g:2g], b[g:2g], …',
  apply([a, b], attrs) {
    const g = attrs.group as number;
    const [N, K] = a.shape;
    const out = new Float64Array(2 * N * K);
    for (let start = 0, at = 0; start < N; start += g) {
      const count = Math.min(g, N - start);
      out.set(rows(a, start, count), at);
      at += count * K;
      out.set(rows(b, start, count), at);
      at += count * K;
    }
    return tensor([2 * N, K], out);
  },
});

defineRecipe({
  kind: 'interleave-row-scales',
  doc: 'block scales of a and b ([⌈N/bn⌉, kb]) as one scale per interleaved group of `group` rows',
  apply([sa, sb], attrs) {
    const g = attrs.group as number;
    const bn = attrs.blockN as number;
    const N = attrs.rows as number;
    const kb = sa.shape[1];
    const groups = Math.ceil(N / g);
    const out = new Float64Array(2 * groups * kb);
    for (let q = 0; q < groups; q++) {
      const block = Math.floor((q * g) / bn); // a group never straddles a block: g divides bn
      out.set(rows(sa, block, 1), (2 * q) * kb);
      out.set(rows(sb, block, 1), (2 * q + 1) * kb);
    }
    return tensor([2 * groups, kb], out);
  },
});

defineRecipe({
  kind: 'stack',
  doc: 'tensors of one shape stacked along a new leading axis; with `each`, every `arity` sources first go through that recipe; with `epRanks`, a rank stacks its part (rankSources)',
  apply(sources, attrs) {
    const parts: Tensor[] = [];
    if (typeof attrs.each === 'string') {
      const arity = attrs.arity as number;
      for (let i = 0; i < sources.length; i += arity) {
        parts.push(applyRecipe({ kind: attrs.each, attrs }, sources.slice(i, i + arity)));
      }
    } else {
      parts.push(...sources);
    }
    const out = new Float64Array(parts.length * parts[0].data.length);
    parts.forEach((s, i) => out.set(s.data, i * s.data.length));
    return tensor([parts.length, ...parts[0].shape], out);
  },
});

defineRecipe({
  kind: 'kv-b-split',
  doc: 'kv_b_proj [heads·(nope+v), kv_lora] dequantized, split per head into W_UK [heads, kv_lora, nope] or W_UV [heads, v, kv_lora]',
  apply([w, scale], attrs) {
    const [heads, nope, v, part] = [attrs.heads, attrs.nope, attrs.v, attrs.part] as [number, number, number, string];
    const C = w.shape[1];
    const bn = attrs.blockN as number;
    const bk = attrs.blockK as number;
    const at = (r: number, c: number) => w.data[r * C + c] * (scale ? scale.data[Math.floor(r / bn) * scale.shape[1] + Math.floor(c / bk)] : 1);
    if (part === 'uk') {
      // W_UK[h][c][i] = kv_b[h·(nope+v) + i][c]: the absorbed query is q_nope · W_UKᵀ per head.
      const out = new Float64Array(heads * C * nope);
      for (let h = 0; h < heads; h++) for (let c = 0; c < C; c++) for (let i = 0; i < nope; i++) out[(h * C + c) * nope + i] = at(h * (nope + v) + i, c);
      return tensor([heads, C, nope], out);
    }
    // W_UV[h][j][c] = kv_b[h·(nope+v) + nope + j][c]: the rows that make v from the latent.
    const out = new Float64Array(heads * v * C);
    for (let h = 0; h < heads; h++) for (let j = 0; j < v; j++) for (let c = 0; c < C; c++) out[(h * v + j) * C + c] = at(h * (nope + v) + nope + j, c);
    return tensor([heads, v, C], out);
  },
});
