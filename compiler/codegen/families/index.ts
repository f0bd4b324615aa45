/** Importing this module registers every kernel family (one per file). */
import './add.ts';
import './fused-rms-norm.ts';
import './act-quant-fp8.ts';
import './embedding.ts';
import './gemm.ts';
import './grouped-gemm.ts';
import './matmul.ts';
import './mla-kv-write.ts';
import './mla-absorb-query.ts';
import './head-matmul.ts';
import './rope.ts';
import './mla-absorbed-attention.ts';
import './mla-attention.ts';
import './moe-route.ts';
import './moe-dispatch.ts';
import './moe-combine.ts';
import './sample.ts';
