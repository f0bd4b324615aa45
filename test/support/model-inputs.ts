import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { cacheNames } from '../../compiler/model/build-model.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { tensor } from '../../compiler/ir/tensor.ts';

/**
 * Pages of a test KV pool, handed out in a shuffled order so that a sequence's positions land on
 * scattered pool rows and a wrong index shows: position j of a sequence is row page·pageSize +
 * j mod pageSize of its (j / pageSize)-th page.
 */
export class TestPages {
  private readonly free: number[];
  private readonly pages = new Map<number, number[]>();

  constructor(
    readonly rows: number,
    readonly pageSize = 2,
    seed = 1,
  ) {
    const count = Math.floor(rows / pageSize);
    this.free = Array.from({ length: count }, (_, i) => i);
    let s = seed >>> 0 || 1;
    for (let i = count - 1; i > 0; i--) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const j = s % (i + 1);
      [this.free[i], this.free[j]] = [this.free[j], this.free[i]];
    }
  }

  /** The pool row of position `pos` of sequence `seq`, taking pages as the sequence grows. */
  slot(seq: number, pos: number): number {
    const list = this.pages.get(seq) ?? [];
    this.pages.set(seq, list);
    while (list.length * this.pageSize <= pos) {
      const page = this.free.shift();
      if (page === undefined) throw new Error('TestPages: the pool is full');
      list.push(page);
    }
    return list[Math.floor(pos / this.pageSize)] * this.pageSize + (pos % this.pageSize);
  }

  /** The slot table [seqs, S] of these sequences' positions 0…S-1. */
  table(seqs: readonly number[], S: number): Tensor {
    return tensor([seqs.length, S], seqs.flatMap((seq) => Array.from({ length: S }, (_, j) => this.slot(seq, j))));
  }
}

/**
 * Interpreter inputs for one step: checkpoint weights plus tokens, positions, the paged pools and
 * their indices. Token n is sequence seqs[n] (prefill: one sequence for every token) at
 * positions[n]; its latent goes to that position's slot; the slot table covers S positions of each
 * sequence (S = the longest position + 1 by default).
 */
export function stepInputs(
  weights: ReadonlyMap<string, Tensor>,
  tokens: number[],
  positions: number[],
  caches: Map<string, Tensor>,
  pages: TestPages,
  options: { phase?: 'prefill' | 'decode'; seqs?: number[]; S?: number } = {},
): Map<string, Tensor> {
  const seqs = options.seqs ?? (options.phase === 'decode' ? tokens.map((_, i) => i) : tokens.map(() => 0));
  const S = options.S ?? Math.max(...positions) + 1;
  const inputs = new Map<string, Tensor>(weights);
  inputs.set('tokens', tensor([tokens.length], tokens));
  inputs.set('positions', tensor([positions.length], positions));
  inputs.set('slots', tensor([tokens.length], positions.map((p, n) => pages.slot(seqs[n], p))));
  inputs.set('slot_table', pages.table(options.phase === 'decode' ? seqs : [seqs[0]], S));
  for (const [name, t] of caches) inputs.set(name, t);
  return inputs;
}

/** Empty pools of `rows` rows. */
export function emptyCaches(config: ModelConfig, rows: number): Map<string, Tensor> {
  const caches = new Map<string, Tensor>();
  for (let l = 0; l < config.numLayers; l++) {
    const names = cacheNames(l);
    caches.set(names.cKv, tensor([rows, config.kvLoraRank]));
    caches.set(names.kPe, tensor([rows, config.qkRopeHeadDim]));
  }
  return caches;
}

/** The pools a step wrote (its outputs), for the next step. */
export function writtenCaches(config: ModelConfig, outputs: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const caches = new Map<string, Tensor>();
  for (let l = 0; l < config.numLayers; l++) for (const name of Object.values(cacheNames(l))) caches.set(name, outputs.get(name)!);
  return caches;
}
