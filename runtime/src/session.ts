/**
 * A loaded model: prefill + decode over the executor, several sequences in one batch, sampling,
 * stop tokens, and tokens streamed as they come. Prompt i of a batch is the executor's sequence i:
 * it takes KV pages as it grows, and gives them back as soon as it finishes (or when the batch
 * ends, however it ends); a decode step runs only the unfinished sequences, whichever they are,
 * since the paged cache lets any sequence sit in any row of a step.
 */
import type { ModelConfig } from '../../compiler/config/model-config.ts';
import type { Device } from './device/device.ts';
import type { StepOutput } from './exec/executor.ts';
import type { StepExecutor } from './exec/step-executor.ts';
import { StepError } from './exec/capacity.ts';
import type { Sampler } from './sampler.ts';
import type { SamplingRow } from './sampling/index.ts';
import { samplingParams, samplingRow } from './sampling/index.ts';
import type { LoadedTokenizer } from './tokenizer/index.ts';

export interface GenerateOptions {
  readonly maxNewTokens?: number;
  /** 0 (default): greedy. */
  readonly temperature?: number;
  /** 1 (default): no nucleus cut. */
  readonly topP?: number;
  /** Seeds the per-sequence draws (sequence i uses seed + i); 0 by default. */
  readonly seed?: number | bigint;
  /** Token ids that end a sequence (kept in the output); the tokenizer's EOS ids by default. */
  readonly stopIds?: readonly number[];
  /** Render text prompts with the chat template (one user message, generation prompt added). */
  readonly chat?: boolean;
  /** Called with each row of logits: every prompt position, then the logits each generated token was drawn from. */
  readonly onLogits?: (sequence: number, kind: 'prompt' | 'generated', logits: Float32Array) => void;
}

export interface GeneratedToken {
  readonly sequence: number;
  /** 0 for the first generated token. */
  readonly index: number;
  readonly id: number;
  /** The text this token adds (may be empty until a multi-byte character completes). */
  readonly text: string;
  /** Set on a sequence's last token: a stop id, or maxNewTokens / the context reached. */
  readonly finishReason?: 'stop' | 'length';
}

export type Prompt = string | readonly number[];

/** A text prompt's ids: one BOS then the text, or one user message through the chat template (generation prompt added). */
export function encodePrompt(tok: LoadedTokenizer, text: string, chat = false): number[] {
  return chat ? tok.applyChatTemplate([{ role: 'user', content: text }], { addGenerationPrompt: true }) : tok.encode(text, { addBos: true });
}

export class ModelSession {
  constructor(
    readonly config: ModelConfig,
    readonly device: Device,
    readonly executor: StepExecutor,
    private readonly sampler: Sampler,
    /** Null when the checkpoint has no usable tokenizer; `tokenizerProblem` says why. */
    readonly tokenizer: LoadedTokenizer | null,
    private readonly tokenizerProblem: string,
    private readonly release: () => void,
  ) {}

  /** The prompt's ids: given ids as they are, text encoded with one BOS (or through the chat template). */
  promptIds(prompt: Prompt, chat = false): number[] {
    if (typeof prompt !== 'string') return [...prompt];
    const tok = this.tokenizer;
    if (!tok) throw new StepError(`a text prompt needs a tokenizer: ${this.tokenizerProblem}`);
    return encodePrompt(tok, prompt, chat);
  }

  generate(prompt: Prompt, options: GenerateOptions = {}): AsyncGenerator<GeneratedToken> {
    return this.generateBatch([prompt], options);
  }

  /** Every prompt in one batch; tokens of all sequences interleaved, in step order. */
  async *generateBatch(prompts: readonly Prompt[], options: GenerateOptions = {}): AsyncGenerator<GeneratedToken> {
    const { maxBatch, maxContext, maxTokens } = this.executor.capacity;
    const maxNew = options.maxNewTokens ?? 64;
    if (!Number.isInteger(maxNew) || maxNew < 1) throw new StepError(`maxNewTokens ${maxNew}: expected a positive whole number`);
    if (prompts.length < 1 || prompts.length > maxBatch) throw new StepError(`${prompts.length} prompts: expected 1 to ${maxBatch} (maxBatch)`);
    const seed = BigInt(options.seed ?? 0);
    const params = prompts.map((_, i) => samplingParams({ temperature: options.temperature ?? 0, topP: options.topP ?? 1, seed: seed + BigInt(i) }));
    const ids = prompts.map((p) => this.promptIds(p, options.chat));
    ids.forEach((p, i) => {
      if (p.length < 1) throw new StepError(`prompt ${i} is empty`);
      if (p.length >= maxContext) throw new StepError(`prompt ${i} has ${p.length} tokens; the context holds ${maxContext} (maxContext), leaving no room to generate`);
    });
    const stops = new Set(options.stopIds ?? this.tokenizer?.eosIds ?? []);
    const draws = params.map(samplingRow);
    const decoders = ids.map(() => this.tokenizer?.streamDecoder() ?? null);

    try {
      // Prefill each sequence, in chunks of at most maxTokens; sample its first token.
      const next: number[] = [];
      for (let s = 0; s < ids.length; s++) {
        let out: StepOutput | undefined;
        for (let start = 0; start < ids[s].length; start += maxTokens) {
          out = this.executor.prefill(s, ids[s].slice(start, start + maxTokens), start);
          if (options.onLogits) for (const row of this.readLogits(out, 0, out.logits.rows)) options.onLogits(s, 'prompt', row);
        }
        next.push(this.sampleRows(out!, [s], [draws[s]], options)[0]);
      }

      const length = ids.map((p) => p.length); // tokens in each sequence's cache after the step that consumes next[s]
      const count = ids.map(() => 0);
      const done = ids.map(() => false);
      for (;;) {
        // Emit what the last step produced; decide who is finished.
        for (let s = 0; s < ids.length; s++) {
          if (done[s]) continue;
          const id = next[s];
          count[s]++;
          // The token is consumed at position length[s] by the next step: none past the context.
          const finish = stops.has(id) ? 'stop' : count[s] >= maxNew || length[s] >= maxContext ? 'length' : undefined;
          const text = decoders[s]?.push(id) ?? '';
          if (finish) {
            done[s] = true;
            this.executor.release(s); // its pages go back before the next step takes any
          }
          yield { sequence: s, index: count[s] - 1, id, text: finish ? text + (decoders[s]?.flush() ?? '') : text, ...(finish ? { finishReason: finish } : {}) };
        }
        const live = ids.map((_, s) => s).filter((s) => !done[s]);
        if (live.length === 0) return;
        const out = this.executor.decode(live.map((s) => next[s]), live.map((s) => length[s]), live);
        const picked = this.sampleRows(out, live, live.map((s) => draws[s]), options);
        live.forEach((s, i) => {
          ids[s].push(next[s]);
          length[s]++;
          next[s] = picked[i];
        });
      }
    } finally {
      for (let s = 0; s < ids.length; s++) this.executor.release(s);
    }
  }

  dispose(): void {
    this.release();
  }

  /** Samples the step's last `sequences.length` logits rows (row i is sequence sequences[i]) and reports them. */
  private sampleRows(out: StepOutput, sequences: readonly number[], draws: readonly SamplingRow[], options: GenerateOptions): number[] {
    const first = out.logits.rows - sequences.length;
    const picked = this.sampler.sample(out, first, draws);
    if (options.onLogits) {
      const rows = this.readLogits(out, first, sequences.length);
      sequences.forEach((s, i) => options.onLogits!(s, 'generated', rows[i]));
    }
    return picked;
  }

  private readLogits(out: StepOutput, first: number, count: number): Float32Array[] {
    const V = this.executor.vocab;
    const all = new Float32Array(count * V);
    out.logits.memory.read(all, out.logits.byteOffset + first * V * 4);
    return Array.from({ length: count }, (_, i) => all.subarray(i * V, (i + 1) * V));
  }
}
