import { defineFamily } from '../kernel-family.ts';
import { GEMM_CONSTRAINTS, GEMM_TUNABLES, gemmConstants, gemmDerive, gemmLaunch, gemmParams } from './gemm-common.ts';

/**
 * grouped_gemm: the gemm family over rows [N, K', K] where row r uses expert rowExpert[r]'s
 * weights [E, N, K]. One launch for all experts: a row tile makes one pass per distinct expert in
 * it (dispatch sorts rows by expert, so usually one), loading that expert's weight tiles.
 */
export const groupedGemm = defineFamily({
  name: 'grouped_gemm',
  op: 'grouped_gemm',
  template: 'gemm',
  doc: "rows . w[row_expert]^T per row, the gemm family's weight forms and epilogues, all experts in one launch",
  constants: (node, o) => gemmConstants(node.attrs, o, true),
  tunables: GEMM_TUNABLES,
  constraints: GEMM_CONSTRAINTS,
  launch: (c, t, target) => gemmLaunch(c, t, target),
  params: gemmParams,
  derive: gemmDerive,
});
