import { defineFamily } from '../kernel-family.ts';
import { rowsOf } from './operands.ts';

/**
 * fused_rms_norm: inputs [x, r?, w], outputs [sum?, y, q?, s?] over rows of x[rows, D].
 * GPU: one block per row; the row's fp32 values are staged in shared memory (D·4 bytes), summed
 * with a block reduction, and with quant each warp takes whole 1×qBlock groups (amax by shuffle).
 * The quantized values come from fp32 y, not from its bf16 rounding, as the reference computes.
 */
export const fusedRmsNorm = defineFamily({
  name: 'fused_rms_norm',
  op: 'fused_rms_norm',
  template: 'fused_rms_norm',
  doc: '(x + r) -> rms_norm * w -> (e4m3 q, scales): one row per block',
  constants(node, o) {
    const residual = node.attrs.residual === true;
    const x = rowsOf('x', o.inputs[0]); // [rows, D], maybe a column window of a wider output
    const r = residual ? rowsOf('r', o.inputs[1]) : null;
    for (const out of o.outputs) rowsOf('output', out); // fresh outputs are dense
    return {
      D: x.width,
      eps: node.attrs.eps as number,
      residual,
      quant: node.attrs.quant === true,
      qBlock: node.attrs.quant === true ? (node.attrs.block as number) : 0,
      rows: x.rows,
      xStride: x.rowStride,
      rStride: r ? r.rowStride : 0,
    };
  },
  tunables: {
    gpu: { THREADS: { default: 256, space: [64, 128, 256, 512, 1024] } },
    cpu: { ROWS: { default: 1, space: [1, 2, 4, 8] } },
  },
  constraints: [
    { expr: 'D * 4 <= 48 * 1024', why: 'the row is staged in static shared memory' },
    { expr: 'THREADS % WARP == 0', why: 'whole warps', target: 'gpu' },
    { expr: '!quant || qBlock > 0', why: 'quantization needs a group size' },
  ],
  launch(c, t, target) {
    if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
    return { grid: [String(c.rows), '1', '1'], block: [t.THREADS, 1, 1], sharedBytes: 0 };
  },
  params(c) {
    return {
      inputs: c.residual ? ['x', 'r', 'w'] : ['x', 'w'],
      outputs: [...(c.residual ? ['sum'] : []), 'y', ...(c.quant ? ['q', 's'] : [])],
    };
  },
  derive(c) {
    return { groups: c.quant ? Math.ceil((c.D as number) / (c.qBlock as number)) : 0 };
  },
});
