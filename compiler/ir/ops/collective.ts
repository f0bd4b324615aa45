import { defineOp, ShapeError } from '../op.ts';
import type { Tensor } from '../tensor.ts';
import { tensor } from '../tensor.ts';
import { numel, resolveShape, tensorType } from '../types.ts';
import { expectArity, ioBytes } from './helpers.ts';

/**
 * Collectives over a group of `ranks` ranks of a mesh: `group` 'tp', the tensor-parallel ranks
 * that share an expert-parallel index, or 'world', every rank. Every rank runs the same graph on
 * its own slice of the weights; these nodes are where their results meet. The interpreter runs the
 * ranks in lockstep (interpretRanks) and calls `collective` with the operands of one group's ranks;
 * on devices they are NCCL calls, or copies between ranks' memory on the cpu target.
 */

function ranksOf(op: string, attrs: Readonly<Record<string, unknown>>): number {
  if (attrs.group !== 'tp' && attrs.group !== 'world') throw new ShapeError(op, `attr group must be "tp" or "world", got ${JSON.stringify(attrs.group)}`);
  const ranks = attrs.ranks;
  if (typeof ranks !== 'number' || !Number.isInteger(ranks) || ranks < 1) throw new ShapeError(op, `attr ranks must be a positive integer, got ${JSON.stringify(ranks)}`);
  return ranks;
}

function expectRanks(op: string, perRank: readonly (readonly Tensor[])[], ranks: number): void {
  if (perRank.length !== ranks) throw new ShapeError(op, `expected operands from ${ranks} ranks, got ${perRank.length}`);
}

defineOp({
  name: 'all_reduce',
  doc: 'the elementwise sum of x over the ranks, on every rank (a row-parallel linear\'s partial sums, the vocabulary-parallel embedding\'s rows)',
  infer(inputs, attrs) {
    expectArity('all_reduce', inputs, 1);
    ranksOf('all_reduce', attrs);
    return [inputs[0]];
  },
  reference([x], attrs) {
    if (ranksOf('all_reduce', attrs) !== 1) throw new ShapeError('all_reduce', 'needs every rank\'s operand: interpret the ranks together (interpretRanks)');
    return [x];
  },
  collective(perRank, attrs) {
    expectRanks('all_reduce', perRank, ranksOf('all_reduce', attrs));
    const sum = new Float64Array(perRank[0][0].data.length);
    for (const [x] of perRank) for (let i = 0; i < sum.length; i++) sum[i] += x.data[i];
    return perRank.map(() => [tensor(perRank[0][0].shape, sum.slice())]);
  },
  cost(inputs, outputs, attrs, bindings) {
    // A ring all-reduce sends and receives 2(n−1)/n of the tensor per rank.
    const n = ranksOf('all_reduce', attrs);
    const elements = numel(resolveShape(inputs[0].shape, bindings));
    return { flops: elements * (n - 1), bytes: ioBytes(inputs, outputs, bindings) * (n === 1 ? 1 : (2 * (n - 1)) / n) };
  },
});

defineOp({
  name: 'all_gather',
  doc: 'x [..., C] from every rank side by side: [..., ranks·C], rank r\'s columns at r·C (a column-parallel head\'s logits)',
  infer(inputs, attrs) {
    expectArity('all_gather', inputs, 1);
    const n = ranksOf('all_gather', attrs);
    const shape = inputs[0].shape;
    const last = shape[shape.length - 1];
    if (typeof last !== 'number') throw new ShapeError('all_gather', `the gathered (last) dimension must be a size, got ${last}`);
    return [tensorType(inputs[0].dtype, [...shape.slice(0, -1), last * n])];
  },
  reference([x], attrs) {
    if (ranksOf('all_gather', attrs) !== 1) throw new ShapeError('all_gather', 'needs every rank\'s operand: interpret the ranks together (interpretRanks)');
    return [x];
  },
  collective(perRank, attrs) {
    const n = ranksOf('all_gather', attrs);
    expectRanks('all_gather', perRank, n);
    const shape = perRank[0][0].shape;
    const C = shape[shape.length - 1];
    const rows = perRank[0][0].data.length / C;
    const out = new Float64Array(rows * C * n);
    perRank.forEach(([x], r) => {
      for (let i = 0; i < rows; i++) out.set(x.data.subarray(i * C, (i + 1) * C), (i * n + r) * C);
    });
    return perRank.map(() => [tensor([...shape.slice(0, -1), C * n], out.slice())]);
  },
  cost(inputs, outputs, attrs, bindings) {
    const n = ranksOf('all_gather', attrs);
    return { flops: 0, bytes: ioBytes(inputs, outputs, bindings) * (n === 1 ? 1 : (n - 1) / n) };
  },
});

/** Ops whose nodes are collectives rather than kernels. */
export const COLLECTIVE_OPS: ReadonlySet<string> = new Set(['all_reduce', 'all_gather']);
