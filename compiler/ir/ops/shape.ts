import type { AttrValue } from '../graph.ts';
import { defineOp, ShapeError } from '../op.ts';
import { tensor } from '../tensor.ts';
import type { Dim } from '../types.ts';
import { SYMBOLS, formatShape, resolveShape, tensorType } from '../types.ts';
import { elementwiseCost, expectArity, expectDim, expectRank, ioBytes, numAttr } from './helpers.ts';

/** Ops that move data without arithmetic: views (reshape, slice) and the KV cache write. */

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

defineOp({
  name: 'kv_write',
  inPlace: [[0, 0]],
  doc: 'cache[b, positions[b, t], :] = new[b, t, :]; returns the updated cache (in place on devices)',
  infer(inputs) {
    expectArity('kv_write', inputs, 3);
    const [cache, fresh, positions] = inputs;
    expectRank('kv_write', 'cache', cache, 3);
    expectRank('kv_write', 'new', fresh, 3);
    expectRank('kv_write', 'positions', positions, 2);
    expectDim('kv_write', 'new batch', fresh.shape[0], cache.shape[0]);
    expectDim('kv_write', 'new width', fresh.shape[2], cache.shape[2]);
    expectDim('kv_write', 'positions batch', positions.shape[0], fresh.shape[0]);
    expectDim('kv_write', 'positions length', positions.shape[1], fresh.shape[1]);
    return [tensorType(cache.dtype, cache.shape)];
  },
  reference([cache, fresh, positions]) {
    const [B, S, C] = cache.shape;
    const T = fresh.shape[1];
    const out = Float64Array.from(cache.data);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const p = positions.data[b * T + t];
        if (!Number.isInteger(p) || p < 0 || p >= S) throw new Error(`kv_write: position ${p} outside the cache [0, ${S})`);
        out.set(fresh.data.subarray((b * T + t) * C, (b * T + t + 1) * C), (b * S + p) * C);
      }
    }
    return [tensor(cache.shape, out)];
  },
  cost(inputs, _outputs, _attrs, bindings) {
    // Writes only the new rows.
    return { flops: 0, bytes: 2 * ioBytes([inputs[1]], [], bindings) };
  },
});
