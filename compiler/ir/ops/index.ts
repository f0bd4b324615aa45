/** Importing this module registers every op with the registry. */
import './elementwise.ts';
import './norm.ts';
import './linear.ts';
import './embedding.ts';
import './shape.ts';
import './rope.ts';
import './attention.ts';
import './moe.ts';
import './gemm.ts';
import './fused-norm.ts';
import './mla-absorbed.ts';
import './moe-lowered.ts';
import './sample.ts';
import './collective.ts';
import './local-ids.ts';
