import { defineOp } from '../op.ts';
import { tensor } from '../tensor.ts';
import { tensorType } from '../types.ts';
import { expectArity, expectDType, expectRank, ioBytes } from './helpers.ts';
import { DTYPE_BYTES, numel, resolveShape } from '../types.ts';

defineOp({
  name: 'embedding',
  doc: 'table[V, H] rows gathered by ids[N] → [N, H]; id −1 (another rank\'s token) gives a zero row',
  infer(inputs) {
    expectArity('embedding', inputs, 2);
    const [table, ids] = inputs;
    expectRank('embedding', 'table', table, 2);
    expectRank('embedding', 'ids', ids, 1);
    expectDType('embedding', 'ids', ids, ['i32', 'i64']);
    return [tensorType(table.dtype, [ids.shape[0], table.shape[1]])];
  },
  reference([table, ids]) {
    const [V, H] = table.shape;
    const out = new Float64Array(ids.data.length * H);
    ids.data.forEach((id, r) => {
      if (id === -1) return; // a token another vocabulary-parallel rank holds (local_ids): a zero row
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`embedding: token id ${id} outside [0, ${V})`);
      out.set(table.data.subarray(id * H, (id + 1) * H), r * H);
    });
    return [tensor([ids.data.length, H], out)];
  },
  cost(inputs, outputs, _attrs, bindings) {
    // Only the gathered rows are read, not the whole table.
    const out = numel(resolveShape(outputs[0].shape, bindings));
    const rows = out * DTYPE_BYTES[inputs[0].dtype];
    return { flops: 0, bytes: 2 * rows + ioBytes([inputs[1]], [], bindings), weightBytes: rows };
  },
});
