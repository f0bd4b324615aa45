import { DTYPE_BYTES } from '../../ir/types.ts';
import { defineFamily } from '../kernel-family.ts';
import { expectContiguous, productExpr, rowsOf } from './operands.ts';

/**
 * moe_dispatch: ids[N, k] (+ `shared` experts every token takes) → row_expert, row_slot [N, K']
 * with the N·K' (token, slot) pairs stably sorted by expert, and each payload's rows [N, D]
 * copied into that order [N, K', D]. Payloads are copied as bytes (dtype does not matter).
 * GPU: a counting sort where each block places THREADS consecutive slots: it counts every slot's
 * expert (and those before its own) in shared memory, takes the exclusive scan as offsets, ranks
 * its slots among equal experts, then copies their payload rows. A negative id is an expert
 * another expert-parallel rank holds (local_ids): its slot goes to the last bucket and comes
 * out as row_expert = row_slot = −1, with no payload; an id at or past E is clamped.
 */
export const moeDispatch = defineFamily({
  name: 'moe_dispatch',
  op: 'moe_dispatch',
  template: 'moe_dispatch',
  doc: "stable counting sort of (token, slot) pairs by expert, payload rows copied into that order",
  constants(node, o) {
    const [ids, ...payloads] = o.inputs;
    expectContiguous('ids', ids);
    const k = ids.shape[1] as number;
    const shared = node.attrs.sharedExperts as number;
    const c: Record<string, number | string> = {
      k,
      KP: k + shared,
      E: node.attrs.numExperts as number,
      shared,
      payloads: payloads.length,
      rows: productExpr([ids.shape[0]]),
    };
    payloads.forEach((p, i) => {
      const r = rowsOf(`payload ${i}`, p);
      if (typeof r.rowStride !== 'number') throw new Error(`payload ${i}: symbolic row stride`);
      c[`p${i}RowBytes`] = r.width * DTYPE_BYTES[p.dtype];
      c[`p${i}StrideBytes`] = r.rowStride * DTYPE_BYTES[p.dtype];
    });
    return c;
  },
  tunables: {
    gpu: { THREADS: { default: 256, space: [64, 128, 256, 512, 1024] } },
    cpu: {},
  },
  constraints: [
    { expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' },
    { expr: '(E + shared + 1) * 12 + THREADS * 12 <= 48 * 1024', why: 'counters (one bucket a local expert and the dropped slots) and the chunk in shared memory', target: 'gpu' },
  ],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: ['1', '1', '1'], block: [1, 1, 1], sharedBytes: 0 }; // one serial counting sort
    return { grid: [`((${c.rows}) * ${c.KP} + ${t.THREADS - 1}) / ${t.THREADS}`, '1', '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: (c) => {
    const p = Array.from({ length: c.payloads as number }, (_, i) => i);
    return { inputs: ['ids', ...p.map((i) => `payload${i}`)], outputs: ['rowExpert', 'rowSlot', ...p.map((i) => `sorted${i}`)] };
  },
  derive: (c) => ({ NB: (c.E as number) + (c.shared as number) + 1, DROPPED: (c.E as number) + (c.shared as number), payloadList: Array.from({ length: c.payloads as number }, (_, i) => ({ i })) }),
});
