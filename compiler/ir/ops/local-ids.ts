import { defineOp, ShapeError } from '../op.ts';
import { tensor } from '../tensor.ts';
import { expectArity, expectDim, ioBytes, numAttr } from './helpers.ts';

/**
 * On a mesh, what of a global index space a rank holds: ids (token ids, or routed expert ids) of
 * parts of `count` ids, part `rank` on this rank. An id of this rank's part becomes its index in
 * the part (id − rank·count), any other −1: the embedding gives a −1 token a zero row (the
 * tp all_reduce then adds the one rank's row that is not), dispatch leaves a −1 expert out.
 */
defineOp({
  name: 'local_ids',
  doc: "ids (any shape) and rank[1] → id − rank·count for ids of the rank's part [rank·count, (rank+1)·count), else −1",
  infer(inputs, attrs) {
    expectArity('local_ids', inputs, 2);
    numAttr('local_ids', attrs, 'count');
    const [ids, rank] = inputs;
    expectDim('local_ids', 'rank length', rank.shape.length === 1 ? rank.shape[0] : -1, 1);
    if (ids.dtype !== 'i32' || rank.dtype !== 'i32') throw new ShapeError('local_ids', 'ids and rank are i32');
    return [ids];
  },
  reference([ids, rank], attrs) {
    const count = attrs.count as number;
    const base = rank.data[0] * count;
    return [tensor(ids.shape, ids.data.map((e) => (e >= base && e < base + count ? e - base : -1)))];
  },
  cost(inputs, outputs, _attrs, bindings) {
    return { flops: 0, bytes: ioBytes(inputs, outputs, bindings) };
  },
});
