/** The largest step the executor is sized for; every buffer is allocated once, at these sizes. */
export interface Capacity {
  /** Tokens in one prefill step (a prompt longer than this is prefilled in chunks). */
  readonly maxTokens: number;
  /** Sequences in one decode batch, and rows of the KV cache. */
  readonly maxBatch: number;
  /** Positions per sequence: prompt plus generated tokens. */
  readonly maxContext: number;
}

export class StepError extends Error {
  readonly userFacing = true;
}
