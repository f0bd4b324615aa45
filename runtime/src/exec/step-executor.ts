import type { Mesh } from '../../../compiler/config/mesh.ts';
import type { KvPages } from './kv-pages.ts';
import type { Capacity } from './capacity.ts';
import type { StepOutput } from './executor.ts';

/**
 * What a session steps: one rank's Executor, or a MeshExecutor that steps every rank of a
 * tensor-parallel mesh together. Sequences, pages and logits look the same either way.
 */
export interface StepExecutor {
  readonly vocab: number;
  /** The mesh whose ranks are stepped together (one rank: a plain Executor). */
  readonly mesh: Mesh;
  readonly capacity: Capacity;
  readonly pages: KvPages;
  prefill(seq: number, tokens: readonly number[], start: number): StepOutput;
  decode(tokens: readonly number[], positions: readonly number[], seqs?: readonly number[]): StepOutput;
  release(seq: number): void;
  readArena(phase: 'prefill' | 'decode', id: number, into: ArrayBufferView): void;
  dispose(): void;
}
