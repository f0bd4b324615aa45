import type { AttrValue } from '../graph.ts';
import { defineOp, ShapeError } from '../op.ts';
import { tensor } from '../tensor.ts';
import type { Dim } from '../types.ts';
import { SYMBOLS, byteSize, formatShape, resolveShape, tensorType } from '../types.ts';
import { elementwiseCost, expectArity, expectDim, expectRank, ioBytes, numAttr } from './helpers.ts';

/** Ops that move data without arithmetic: views (reshape, slice), the KV pool write and gather. */

function numericProduct(shape: readonly Dim[]): number {
  return shape.reduce<number>((a, d) => (typeof d === 'number' ? a * d : a), 1);
}

function symbolsOf(shape: readonly Dim[]): string {
  return shape.filter((d) => typeof d === 'string').join(',');
}

defineOp({
  name: 'reshape',
  doc: 'same elements, new shape (symbols must keep their order)',
  infer(inputs, attrs) {
    expectArity('reshape', inputs, 1);
    const target = attrs.shape as readonly AttrValue[] | undefined;
    if (!Array.isArray(target) || !target.every((d) => typeof d === 'number' || SYMBOLS.includes(d as never))) {
      throw new ShapeError('reshape', `attr shape must list sizes and symbols, got ${JSON.stringify(target)}`);
    }
    const to = target as Dim[];
    const from = inputs[0].shape;
    if (numericProduct(from) !== numericProduct(to) || symbolsOf(from) !== symbolsOf(to)) {
      throw new ShapeError('reshape', `cannot reshape ${formatShape(from)} to ${formatShape(to)}`);
    }
    return [tensorType(inputs[0].dtype, to)];
  },
  reference([x], attrs, bindings) {
    return [tensor(resolveShape(attrs.shape as Dim[], bindings), x.data)];
  },
  cost: () => ({ flops: 0, bytes: 0 }),
});

defineOp({
  name: 'slice',
  doc: 'x[..., start : start + size] along the last axis',
  infer(inputs, attrs) {
    expectArity('slice', inputs, 1);
    const start = numAttr('slice', attrs, 'start');
    const size = numAttr('slice', attrs, 'size');
    const shape = inputs[0].shape;
    const lastDim = shape[shape.length - 1];
    if (typeof lastDim !== 'number' || start < 0 || size <= 0 || start + size > lastDim) {
      throw new ShapeError('slice', `[${start}, ${start + size}) is outside the last axis of ${formatShape(shape)}`);
    }
    return [tensorType(inputs[0].dtype, [...shape.slice(0, -1), size])];
  },
  reference([x], attrs) {
    const start = attrs.start as number;
    const size = attrs.size as number;
    const D = x.shape[x.shape.length - 1];
    const rows = x.data.length / D;
    const out = new Float64Array(rows * size);
    for (let r = 0; r < rows; r++) out.set(x.data.subarray(r * D + start, r * D + start + size), r * size);
    return [tensor([...x.shape.slice(0, -1), size], out)];
  },
  cost: elementwiseCost(0),
});

/** The pool row of index i of a slot operand: a whole number in [0, P), or an error naming the op. */
export function poolRow(op: string, slot: number, P: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= P) throw new Error(`${op}: slot ${slot} outside the pool [0, ${P})`);
  return slot;
}

defineOp({
  name: 'kv_write',
  inPlace: [[0, 0]],
  doc: 'pool[slots[n], :] = new[n, :]; returns the updated pool (in place on devices)',
  infer(inputs) {
    expectArity('kv_write', inputs, 3);
    const [pool, fresh, slots] = inputs;
    expectRank('kv_write', 'pool', pool, 2);
    expectRank('kv_write', 'new', fresh, 2);
    expectRank('kv_write', 'slots', slots, 1);
    expectDim('kv_write', 'new width', fresh.shape[1], pool.shape[1]);
    expectDim('kv_write', 'slots length', slots.shape[0], fresh.shape[0]);
    return [tensorType(pool.dtype, pool.shape)];
  },
  reference([pool, fresh, slots]) {
    const [P, C] = pool.shape;
    const out = Float64Array.from(pool.data);
    for (let n = 0; n < fresh.shape[0]; n++) out.set(fresh.data.subarray(n * C, (n + 1) * C), poolRow('kv_write', slots.data[n], P) * C);
    return [tensor(pool.shape, out)];
  },
  cost(inputs, _outputs, _attrs, bindings) {
    // Writes only the new rows.
    return { flops: 0, bytes: 2 * ioBytes([inputs[1]], [], bindings) };
  },
});

defineOp({
  name: 'gather_rows',
  doc: 'pool[P, C] rows gathered by table[Bc, S] → [Bc, S, C]: a sequence\'s cached latents in position order (a slot outside [0, P) reads as zeros)',
  infer(inputs) {
    expectArity('gather_rows', inputs, 2);
    const [pool, table] = inputs;
    expectRank('gather_rows', 'pool', pool, 2);
    expectRank('gather_rows', 'table', table, 2);
    return [tensorType(pool.dtype, [...table.shape, pool.shape[1]])];
  },
  reference([pool, table]) {
    const [P, C] = pool.shape;
    const out = new Float64Array(table.data.length * C);
    table.data.forEach((slot, n) => {
      if (Number.isInteger(slot) && slot >= 0 && slot < P) out.set(pool.data.subarray(slot * C, (slot + 1) * C), n * C);
    });
    return [tensor([...table.shape, C], out)];
  },
  cost(inputs, outputs, _attrs, bindings) {
    // Reads one pool row per table entry (KV bytes) and writes it out; the pool's size does not matter.
    const rows = byteSize(outputs[0], bindings);
    return { flops: 0, bytes: 2 * rows + byteSize(inputs[1], bindings), kvBytes: rows };
  },
});
