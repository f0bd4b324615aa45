/** Importing this module registers every kernel family (one per file). */
import './fused-rms-norm.ts';
