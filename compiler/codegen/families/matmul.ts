import { defineFamily } from '../kernel-family.ts';
import { GEMM_CONSTRAINTS, GEMM_TUNABLES, gemmConstants, gemmDerive, gemmLaunch, gemmParams } from './gemm-common.ts';

/**
 * matmul: x[rows, K] · w[N, K]ᵀ with a plain (bf16) weight; the output dtype is the node's (the
 * lm_head writes f32 logits). The gemm template with no scales and no epilogue.
 */
export const matmul = defineFamily({
  name: 'matmul',
  op: 'matmul',
  template: 'gemm',
  doc: 'x . w^T with a plain weight (lm_head: bf16 weight, f32 logits)',
  constants: (node, o) => gemmConstants({ actQuant: false, scaled: false, epilogue: 'none', outQuant: false }, o, false),
  tunables: GEMM_TUNABLES,
  constraints: GEMM_CONSTRAINTS,
  launch: (c, t, target) => gemmLaunch(c, t, target),
  params: gemmParams,
  derive: gemmDerive,
});
