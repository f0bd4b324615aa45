import { defineFamily } from '../kernel-family.ts';
import { GEMM_CONSTRAINTS, GEMM_TUNABLES, gemmConstants, gemmDerive, gemmLaunch, gemmParams } from './gemm-common.ts';

/**
 * gemm: y = epilogue(x · wᵀ) with a bf16, W8A16 or W8A8 block-scaled weight (gemm-common.ts has
 * the math). GPU: a straightforward tiled kernel, one block per (row tile, column tile), fp32
 * accumulation, scales applied per 128-wide K block; cpu: one fp32 dot per scale block.
 */
export const gemm = defineFamily({
  name: 'gemm',
  op: 'gemm',
  template: 'gemm',
  doc: 'x . w^T, bf16 / W8A16 / W8A8 block-scaled weights, plain or swiglu epilogue, optional output quant',
  constants: (node, o) => gemmConstants(node.attrs, o, false),
  tunables: GEMM_TUNABLES,
  constraints: GEMM_CONSTRAINTS,
  launch: (c, t, target) => gemmLaunch(c, t, target),
  params: gemmParams,
  derive: gemmDerive,
});
