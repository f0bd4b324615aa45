/**
 * Where a kernel operand's elements are. Views (reshape, slice) launch nothing, so a kernel may
 * read a strided window of another value: decode's fused_rms_norm reads q_a as columns [0, 1536)
 * of the merged q_a+kv_a output [B, 2112] (row stride 2112), prefill's rope reads q_pe as
 * [T, 128, 64] with strides [24576, 192, 1]. Each value gets an element offset from its owner's
 * start and a stride per axis; strides are monomials in the step symbols (a cache [B, S, 512]
 * has batch stride S·512). The runtime passes a pointer to the view's first element; the kernel
 * bakes the strides.
 */
import type { Graph } from '../ir/graph.ts';
import { valueTypes } from '../ir/graph.ts';
import type { Dim, Shape, Sym, TensorType } from '../ir/types.ts';
import { VIEW_OPS } from '../passes/schedule.ts';

/** coef · Π syms: a size or stride. */
export interface Mono {
  readonly coef: number;
  readonly syms: readonly Sym[]; // sorted
}

export interface Layout {
  readonly offset: number; // elements from the owner's first element (slices only move along the last axis)
  readonly strides: readonly Mono[];
}

export function mono(d: Dim): Mono {
  return typeof d === 'number' ? { coef: d, syms: [] } : { coef: 1, syms: [d] };
}

export function mul(a: Mono, b: Mono): Mono {
  return { coef: a.coef * b.coef, syms: [...a.syms, ...b.syms].sort() };
}

export function sameMono(a: Mono, b: Mono): boolean {
  return a.coef === b.coef && a.syms.length === b.syms.length && a.syms.every((s, i) => s === b.syms[i]);
}

/** A number when the monomial is constant, else a C expression such as `S*512`. */
export function monoExpr(m: Mono): number | string {
  if (m.syms.length === 0) return m.coef;
  return [...m.syms, ...(m.coef === 1 ? [] : [String(m.coef)])].join('*');
}

export function contiguousStrides(shape: Shape): Mono[] {
  const strides: Mono[] = new Array(shape.length);
  let acc: Mono = { coef: 1, syms: [] };
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc = mul(acc, mono(shape[i]));
  }
  return strides;
}

// Symbols stand for large distinct primes when sizes are compared, so products compare exactly.
const PRIME: Record<Sym, bigint> = { T: 2147483647n, B: 2147483629n, S: 2147483587n, P: 2147483579n };
function size(m: Mono): bigint {
  return m.syms.reduce((p, s) => p * PRIME[s], BigInt(m.coef));
}

/**
 * Strides of `to` viewing the elements of `from` (with `strides`) without a copy, as numpy's
 * no-copy reshape: dims are matched in groups of equal product, and each group of `from` must be
 * contiguous within itself. Throws when the view would need a copy.
 */
export function reshapeStrides(from: Shape, strides: readonly Mono[], to: Shape): Mono[] {
  const od = from.map(mono).filter((_, i) => from[i] !== 1);
  const os = strides.filter((_, i) => from[i] !== 1);
  const nd = to.map(mono);
  const out: Mono[] = new Array(to.length).fill({ coef: 1, syms: [] });
  let ni = 0;
  let oi = 0;
  while (ni < nd.length && oi < od.length) {
    let nj = ni + 1;
    let oj = oi + 1;
    let np = size(nd[ni]);
    let op = size(od[oi]);
    while (np !== op) {
      if (np < op) np *= size(nd[nj++]);
      else op *= size(od[oj++]);
    }
    for (let k = oi; k < oj - 1; k++) {
      if (!sameMono(os[k], mul(os[k + 1], od[k + 1]))) throw new Error(`reshape of a strided view [${from}] to [${to}] needs a copy`);
    }
    out[nj - 1] = os[oj - 1];
    for (let k = nj - 2; k >= ni; k--) out[k] = mul(out[k + 1], nd[k + 1]);
    ni = nj;
    oi = oj;
  }
  return out;
}

/**
 * The layout of every value of the graph: contiguous for inputs and kernel outputs, derived
 * through views. Made once per graph (graphs are frozen): kernel planning, plan.json and the
 * sampler check all ask.
 */
export function layoutsOf(graph: Graph): ReadonlyMap<number, Layout> {
  const known = layoutsOfGraph.get(graph);
  if (known) return known;
  const layouts = new Map<number, Layout>();
  for (const i of graph.inputs) layouts.set(i.value.id, contiguousLayout(i.value.type));
  const types = valueTypes(graph);
  for (const node of graph.nodes) {
    if (!VIEW_OPS.has(node.op)) {
      for (const o of node.outputs) layouts.set(o.id, contiguousLayout(o.type));
      continue;
    }
    const src = layouts.get(node.inputs[0])!;
    const out = node.outputs[0];
    if (node.op === 'slice') {
      const last = src.strides[src.strides.length - 1];
      if (last.syms.length > 0) throw new Error('slice along a symbolic stride');
      layouts.set(out.id, { offset: src.offset + (node.attrs.start as number) * last.coef, strides: src.strides });
    } else {
      layouts.set(out.id, { offset: src.offset, strides: reshapeStrides(types.get(node.inputs[0])!.shape, src.strides, out.type.shape) });
    }
  }
  layoutsOfGraph.set(graph, layouts);
  return layouts;
}
const layoutsOfGraph = new WeakMap<Graph, Map<number, Layout>>();

/** The layout of a value that owns its elements, one per (interned) type: the layers' many values of one type share it. */
function contiguousLayout(type: TensorType): Layout {
  let layout = contiguousLayouts.get(type);
  if (!layout) contiguousLayouts.set(type, (layout = { offset: 0, strides: contiguousStrides(type.shape) }));
  return layout;
}
const contiguousLayouts = new WeakMap<TensorType, Layout>();
