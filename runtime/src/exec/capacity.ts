/** The largest step the executor is sized for; every buffer is allocated once, at these sizes. */
export interface Capacity {
  /** Tokens in one prefill step (a prompt longer than this is prefilled in chunks). */
  readonly maxTokens: number;
  /** Sequences in one decode batch, and sequences alive at once. */
  readonly maxBatch: number;
  /** Positions per sequence: prompt plus generated tokens. */
  readonly maxContext: number;
  /** Positions per KV page; 64 by default. */
  readonly kvPageSize?: number;
  /**
   * Positions the paged KV pool holds, all sequences together (rounded up to whole pages); by
   * default maxBatch × maxContext (in whole pages per sequence), so every sequence can reach maxContext.
   */
  readonly kvPositions?: number;
}

export class StepError extends Error {
  readonly userFacing = true;
}
