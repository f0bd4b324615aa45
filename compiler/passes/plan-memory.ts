import type { Graph } from '../ir/graph.ts';
import { valueTypes } from '../ir/graph.ts';
import { getOp } from '../ir/op.ts';
import type { Bindings } from '../ir/types.ts';
import { byteSize } from '../ir/types.ts';
import type { Schedule } from './schedule.ts';
import { VIEW_OPS } from './schedule.ts';

export interface BufferSlot {
  readonly value: number; // the value that owns the buffer (views and in-place outputs share it)
  readonly offset: number;
  readonly bytes: number;
  readonly first: number; // index of the kernel that writes it
  readonly last: number; // index of the last kernel that reads it (kernels.length for step outputs)
}

export interface MemoryPlan {
  readonly slots: readonly BufferSlot[];
  readonly peakBytes: number;
  /** value id → the value whose buffer it lives in (itself for owners). */
  readonly owner: ReadonlyMap<number, number>;
}

/** A buffer a kernel writes, and the kernels that write it first and read it last. */
export interface Lifetime {
  readonly value: number;
  readonly first: number;
  readonly last: number;
}

/**
 * The arena buffers of a schedule: every value a kernel writes whose memory is not a graph input
 * (weights, step inputs and caches are not arena), with its lifetime in kernel indices.
 */
export function arenaLifetimes(s: Schedule): { lifetimes: Lifetime[]; owner: Map<number, number> } {
  const { graph, kernels } = s;
  const owner = ownerOfValues(graph);
  const state = new Set(graph.inputs.map((i) => i.value.id));
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  kernels.forEach((k, i) => {
    for (const id of k.inputs) last.set(owner.get(id)!, i);
    for (const o of k.outputs) {
      const root = owner.get(o.id)!;
      if (!state.has(root) && !first.has(root)) first.set(root, i);
    }
  });
  for (const o of graph.outputs) last.set(owner.get(o.value)!, kernels.length);
  const lifetimes = [...first.keys()].sort((a, b) => a - b).map((v) => ({ value: v, first: first.get(v)!, last: last.get(v) ?? first.get(v)! }));
  return { lifetimes, owner };
}

/**
 * Offsets for buffers of known size: those whose lifetimes do not overlap share bytes (greedy,
 * largest first, first fit). Offsets found for the largest sizes stay valid for any smaller ones
 * (every slot shrinks in place), so the runtime places once, at its capacity.
 */
export function placeSlots(wanted: readonly (Lifetime & { readonly bytes: number })[]): { slots: BufferSlot[]; peakBytes: number } {
  const order = [...wanted].sort((a, b) => b.bytes - a.bytes || a.first - b.first || a.value - b.value);
  const placed: BufferSlot[] = [];
  for (const w of order) {
    const overlapping = placed.filter((p) => p.first <= w.last && w.first <= p.last).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of overlapping) {
      if (offset + w.bytes <= p.offset) break;
      offset = Math.max(offset, align(p.offset + p.bytes));
    }
    placed.push({ value: w.value, bytes: w.bytes, first: w.first, last: w.last, offset });
  }
  const peakBytes = placed.reduce((m, p) => Math.max(m, p.offset + p.bytes), 0);
  return { slots: placed.sort((a, b) => a.value - b.value), peakBytes };
}

/**
 * plan-memory — requires: a schedule. Every activation a kernel writes gets a slot in one arena
 * (placeSlots). Views live in their source's buffer; in-place outputs (the cache writes) in the
 * cache itself, which is state, not arena. Sizes depend on the step's symbols, so a plan is made
 * per binding.
 */
export function planMemory(s: Schedule, bindings: Bindings): MemoryPlan {
  const types = valueTypes(s.graph);
  const { lifetimes, owner } = arenaLifetimes(s);
  const { slots, peakBytes } = placeSlots(lifetimes.map((l) => ({ ...l, bytes: byteSize(types.get(l.value)!, bindings) })));
  return { slots, peakBytes, owner };
}

/** Offsets keep 256-byte alignment, what vectorized loads and TMA want. */
function align(n: number): number {
  return Math.ceil(n / 256) * 256;
}

/** Follows views and in-place outputs back to the value that owns the memory. */
export function ownerOfValues(graph: Graph): Map<number, number> {
  const owner = new Map<number, number>();
  for (const i of graph.inputs) owner.set(i.value.id, i.value.id);
  for (const node of graph.nodes) {
    const inPlace = new Map(getOp(node.op).inPlace ?? []);
    node.outputs.forEach((o, i) => {
      const source = VIEW_OPS.has(node.op) ? node.inputs[0] : inPlace.has(i) ? node.inputs[inPlace.get(i)!] : undefined;
      owner.set(o.id, source === undefined ? o.id : owner.get(source)!);
    });
  }
  return owner;
}
