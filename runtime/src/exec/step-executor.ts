import type { KvPages } from './kv-pages.ts';
import type { Capacity } from './capacity.ts';
import type { StepOutput } from './executor.ts';

/**
 * What a session steps: one rank's Executor, or a MeshExecutor that steps every rank of a
 * tensor-parallel mesh together. Sequences, pages and logits look the same either way.
 */
export interface StepExecutor {
  readonly vocab: number;
  /** Tensor-parallel ranks stepped together (1: one executor). */
  readonly ranks: number;
  readonly capacity: Capacity;
  readonly pages: KvPages;
  prefill(seq: number, tokens: readonly number[], start: number): StepOutput;
  decode(tokens: readonly number[], positions: readonly number[], seqs?: readonly number[]): StepOutput;
  release(seq: number): void;
  readArena(phase: 'prefill' | 'decode', id: number, into: ArrayBufferView): void;
  dispose(): void;
}
