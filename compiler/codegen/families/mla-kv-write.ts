import { defineFamily } from '../kernel-family.ts';
import { constDim, expectContiguous, rowsOf } from './operands.ts';
import { ropeConstants, ropeDerive } from './rope-common.ts';

/**
 * mla_kv_write: kv[N, C + R] (the kv_a output, a column window) → c_kv = rms_norm(latent)·w and
 * k_pe = rope(k_pe, positions[n]) written into the pools [P, C] and [P, R] at row slots[n]. The
 * outputs are the pools themselves (in place). One block per token; a slot outside [0, P) writes
 * nothing (the reference throws; a kernel cannot).
 */
export const mlaKvWrite = defineFamily({
  name: 'mla_kv_write',
  op: 'mla_kv_write',
  template: 'mla_kv_write',
  doc: 'latent rms_norm and k_pe rope written into the pools at the slots: one token per block',
  constants(node, o) {
    const kv = rowsOf('kv', o.inputs[0]); // [N, C + R], row stride kvStride
    for (const i of [1, 2, 3, 4, 5]) expectContiguous(`input ${i}`, o.inputs[i]);
    const C = constDim('c_kv pool', o.inputs[4], 1);
    return {
      C,
      R: constDim('k_pe pool', o.inputs[5], 1),
      eps: node.attrs.eps as number,
      rows: kv.rows,
      kvStride: kv.rowStride,
      ...ropeConstants(node.attrs),
    };
  },
  tunables: {
    gpu: { THREADS: { default: 128, space: [64, 128, 256, 512] } },
    cpu: { ROWS: { default: 1, space: [1, 4, 16] } },
  },
  constraints: [
    { expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' },
    { expr: 'R == ropeDim && R % 2 == 0', why: 'the rope part is one even-width chunk' },
    { expr: 'C * 4 <= 32 * 1024', why: 'the latent row is staged in shared memory', target: 'gpu' },
  ],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), '1', '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params: () => ({ inputs: ['kv', 'w', 'positions', 'slots', 'cacheC', 'cacheK'], outputs: ['outC', 'outK'] }),
  derive: (c) => ropeDerive(c),
});
