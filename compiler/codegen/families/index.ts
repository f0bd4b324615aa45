/** Importing this module registers every kernel family (one per file). */
import './fused-rms-norm.ts';
import './act-quant-fp8.ts';
import './embedding.ts';
import './gemm.ts';
import './grouped-gemm.ts';
import './matmul.ts';
