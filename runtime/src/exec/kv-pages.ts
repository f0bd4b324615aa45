/**
 * The paged MLA latent KV cache's bookkeeping, on the host. The device holds, per layer, two pools
 * [rows, ·] (c_kv and k_pe) shared by all sequences, rows = pages × pageSize. A sequence owns a
 * list of pages taken from a free list as it grows; position j of a sequence lives at pool row
 * page[j / pageSize]·pageSize + j mod pageSize. The kernels never see pages: a step passes each
 * new token's row (`slots`) and, per sequence, the row of every position it reads (`slot_table`),
 * so the page expansion happens here and any page size works. A sequence's pages go back to the
 * free list when it ends, and the next sequence takes them.
 */
import { StepError } from './capacity.ts';

/** Positions per page by default. */
export const DEFAULT_PAGE_SIZE = 64;

export class KvPages {
  private readonly free: number[];
  private readonly owned = new Map<number, number[]>();

  constructor(
    readonly pages: number,
    readonly pageSize: number = DEFAULT_PAGE_SIZE,
  ) {
    if (!Number.isInteger(pages) || pages < 1) throw new Error(`KV pages: ${pages} pages, expected a positive whole number`);
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new Error(`KV pages: page size ${pageSize}, expected a positive whole number`);
    // Popped from the end: page 0 first.
    this.free = Array.from({ length: pages }, (_, i) => pages - 1 - i);
  }

  /** Pool rows: pages × pageSize. */
  get rows(): number {
    return this.pages * this.pageSize;
  }

  get freePages(): number {
    return this.free.length;
  }

  /** The pages a sequence holds, in position order (empty for an unknown sequence). */
  pagesOf(seq: number): readonly number[] {
    return this.owned.get(seq) ?? [];
  }

  /** Positions the sequence's pages cover. */
  capacityOf(seq: number): number {
    return this.pagesOf(seq).length * this.pageSize;
  }

  /**
   * Makes sequence `seq` hold positions 0…length-1, taking pages from the free list; all or
   * nothing: a StepError (and no page taken) when the pool has too few free pages.
   */
  reserve(seq: number, length: number): void {
    this.reserveAll([{ seq, length }]);
  }

  /** reserve for a whole step's sequences (distinct), all or nothing across them. */
  reserveAll(requests: readonly { readonly seq: number; readonly length: number }[]): void {
    const needs = requests.map(({ seq, length }) => Math.max(0, Math.ceil(length / this.pageSize) - this.pagesOf(seq).length));
    const need = needs.reduce((a, b) => a + b, 0);
    if (need > this.free.length) {
      const what =
        requests.length === 1
          ? `sequence ${requests[0].seq} needs ${need} more page${need === 1 ? '' : 's'} of ${this.pageSize} positions for ${requests[0].length} positions`
          : `this step's ${requests.length} sequences need ${need} more pages of ${this.pageSize} positions`;
      throw new StepError(`the KV cache is full: ${what}, ${this.free.length} of ${this.pages} are free; finish sequences first or load with a larger KV pool (kvPositions)`);
    }
    requests.forEach(({ seq }, i) => {
      if (needs[i] === 0) return;
      const list = this.owned.get(seq) ?? [];
      for (let k = 0; k < needs[i]; k++) list.push(this.free.pop()!);
      this.owned.set(seq, list);
    });
  }

  /** Gives the sequence's pages back (a sequence that holds none is fine). */
  release(seq: number): void {
    const list = this.owned.get(seq);
    if (!list) return;
    this.owned.delete(seq);
    for (let i = list.length - 1; i >= 0; i--) this.free.push(list[i]);
  }

  /** Every sequence's pages back. */
  releaseAll(): void {
    for (const seq of [...this.owned.keys()]) this.release(seq);
  }

  /** Sequences holding pages. */
  get sequences(): number[] {
    return [...this.owned.keys()];
  }

  /** The pool row of a position the sequence holds. */
  slot(seq: number, pos: number): number {
    const list = this.pagesOf(seq);
    const page = list[Math.floor(pos / this.pageSize)];
    if (page === undefined || !Number.isInteger(pos) || pos < 0) throw new Error(`KV pages: sequence ${seq} holds no position ${pos}`);
    return page * this.pageSize + (pos % this.pageSize);
  }

  /**
   * Writes sequence `seq`'s slot table row: the pool row of positions 0…width-1 into `into` at
   * `offset`; positions it does not hold get -1 (read by nothing: attention stops at the query's position).
   */
  fillTable(seq: number, into: Int32Array, offset: number, width: number): void {
    const list = this.pagesOf(seq);
    const held = Math.min(width, list.length * this.pageSize);
    for (let j = 0; j < held; j++) into[offset + j] = list[Math.floor(j / this.pageSize)] * this.pageSize + (j % this.pageSize);
    into.fill(-1, offset + held, offset + width);
  }
}

/** The pool a capacity asks for: its page size and page count (default: every sequence at maxContext). */
export function poolOf(c: { readonly maxBatch: number; readonly maxContext: number; readonly kvPageSize?: number; readonly kvPositions?: number }): { pageSize: number; pages: number; rows: number } {
  const pageSize = c.kvPageSize ?? DEFAULT_PAGE_SIZE;
  const pages = c.kvPositions === undefined ? c.maxBatch * Math.ceil(c.maxContext / pageSize) : Math.ceil(c.kvPositions / pageSize);
  return { pageSize, pages, rows: pages * pageSize };
}
