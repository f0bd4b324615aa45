/**
 * Fresh random inputs for one kernel node: every operand random in its dtype's range, except the
 * integer operands whose values the op constrains (token ids, positions, pool slots, expert ids,
 * row permutations), which are drawn from what the model could produce.
 */
import type { Node } from '../../compiler/ir/graph.ts';
import type { NodeOperands } from '../../compiler/codegen/kernel-family.ts';
import type { Bindings } from '../../compiler/ir/types.ts';
import { resolveShape } from '../../compiler/ir/types.ts';
import type { Rng } from '../reference/prng.ts';
import type { Storage } from './support.ts';
import { randomFill, storage, viewOffsets } from './support.ts';

/** k distinct values of [0, n), ascending. */
function distinct(rng: Rng, n: number, k: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, k).sort((a, b) => a - b);
}

/** A uniformly random permutation of [0, n) (Fisher–Yates). */
function permutation(rng: Rng, n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Integer values for input `index` of the node, row-major over its shape, or null for plain random data. */
export function integerValues(node: Node, index: number, o: NodeOperands, b: Bindings, rng: Rng): number[] | null {
  const shape = (i: number) => resolveShape(o.inputs[i].shape, b);
  const count = (i: number) => shape(i).reduce((a, d) => a * d, 1);
  const uniform = (i: number, n: number) => Array.from({ length: count(i) }, () => rng.int(n));
  const S = b.S ?? 1;
  const P = b.P ?? 1;
  switch (`${node.op}:${index}`) {
    case 'embedding:1':
      return uniform(1, shape(0)[0] + 1).map((id) => (id === shape(0)[0] ? -1 : id)); // −1: another rank's token
    case 'rope:1':
    case 'mla_absorb_query:2':
      return uniform(index, 64);
    case 'mla_kv_write:2':
      return uniform(2, 64);
    case 'mla_kv_write:3':
      return distinct(rng, P, count(3)); // distinct pool rows: the writes would race otherwise
    case 'mla_absorbed_attention:4':
      return uniform(4, S);
    case 'mla_absorbed_attention:5':
    case 'gather_rows:1':
      return uniform(index, P); // any pool rows, shared or not: a page table maps positions anywhere
    case 'mla_attention:5':
      return uniform(5, S);
    case 'moe_dispatch:0': {
      // On an expert-parallel rank (after local_ids) some ids are −1: slots dispatch leaves out.
      const [N, k] = shape(0);
      const dropped = node.attrs.sharedExperts === 0 ? 0.3 : 0;
      return Array.from({ length: N }, () => distinct(rng, node.attrs.numExperts as number, k).map((e) => (rng.next() < dropped ? -1 : e))).flat();
    }
    case 'moe_combine:1':
      return permutation(rng, count(1)).map((s) => (rng.next() < 0.2 ? -1 : s)); // −1: a slot not dispatched here
    case 'local_ids:0':
      return uniform(0, 4 * (node.attrs.count as number)); // ids of every rank's part, for up to 4 ranks
    case 'local_ids:1':
      return [rng.int(4)];
    default:
      break;
  }
  if (node.op === 'grouped_gemm' && index === (node.attrs.actQuant ? 2 : 1)) {
    const experts = o.inputs[index + 1].shape[0] as number;
    // Dispatch sorts rows by expert, with the slots it left out (−1) last.
    const rows = uniform(index, experts + 1).map((e) => (e === experts ? -1 : e));
    return [...rows.filter((e) => e >= 0).sort((a, c) => a - c), ...rows.filter((e) => e < 0)];
  }
  return null;
}

/** One storage per input, sized to the view's extent (a strided view gets the memory around it too). */
export function randomInputs(node: Node, o: NodeOperands, b: Bindings, rng: Rng): Storage[] {
  return o.inputs.map((operand, i) => {
    const { offsets, extent } = viewOffsets(operand, b);
    const s = storage(operand.dtype, extent);
    const ints = integerValues(node, i, o, b, rng);
    if (ints) {
      offsets.forEach((off, j) => {
        if (s instanceof BigInt64Array) s[off] = BigInt(ints[j]);
        else s[off] = ints[j];
      });
    } else {
      randomFill(operand.dtype, s, rng);
    }
    return s;
  });
}
