import { describe, expect, it } from 'vitest';
import { StepError } from '../../runtime/src/exec/capacity.ts';
import { DEFAULT_PAGE_SIZE, KvPages, poolOf } from '../../runtime/src/exec/kv-pages.ts';

describe('KvPages: the paged KV cache allocator', () => {
  it('gives a sequence pages as it grows and maps positions to pool rows through them', () => {
    const p = new KvPages(4, 3);
    expect(p.rows).toBe(12);
    p.reserve(7, 1);
    expect(p.pagesOf(7)).toEqual([0]);
    p.reserve(7, 3); // still one page
    expect(p.pagesOf(7)).toEqual([0]);
    p.reserve(1, 2);
    p.reserve(7, 4); // position 3 starts a second page
    expect(p.pagesOf(7)).toEqual([0, 2]);
    expect(p.pagesOf(1)).toEqual([1]);
    expect([0, 1, 2, 3, 4, 5].map((j) => p.slot(7, j))).toEqual([0, 1, 2, 6, 7, 8]);
    expect(p.capacityOf(7)).toBe(6);
    expect(() => p.slot(7, 6)).toThrow(/holds no position 6/);
    expect(() => p.slot(3, 0)).toThrow(/holds no position 0/);
    const table = new Int32Array(10).fill(99);
    p.fillTable(7, table, 2, 8);
    expect([...table]).toEqual([99, 99, 0, 1, 2, 6, 7, 8, -1, -1]);
  });

  it('frees a finished sequence\'s pages and hands them to the next one', () => {
    const p = new KvPages(3, 2);
    p.reserve(0, 4);
    p.reserve(1, 2);
    expect(p.freePages).toBe(0);
    p.release(0);
    expect(p.pagesOf(0)).toEqual([]);
    expect(p.freePages).toBe(2);
    p.reserve(2, 3);
    expect([...p.pagesOf(2)].sort()).toEqual([0, 1]);
    p.release(5); // holds nothing: fine
    p.releaseAll();
    expect(p.freePages).toBe(3);
    expect(p.sequences).toEqual([]);
  });

  it('says so when the pool is full, taking no page', () => {
    const p = new KvPages(2, 4);
    p.reserve(0, 5);
    expect(() => p.reserve(1, 9)).toThrow(StepError);
    expect(() => p.reserve(1, 9)).toThrow(/the KV cache is full: sequence 1 needs 3 more pages of 4 positions for 9 positions, 0 of 2 are free/);
    expect(p.pagesOf(1)).toEqual([]);
    p.release(0);
    p.reserve(1, 8);
    expect(p.pagesOf(1)).toHaveLength(2);
  });

  it('rejects pools and pages that are not positive whole numbers', () => {
    expect(() => new KvPages(0)).toThrow(/0 pages/);
    expect(() => new KvPages(2, 1.5)).toThrow(/page size 1.5/);
  });

  it('sizes the default pool for every sequence at maxContext, in whole pages', () => {
    expect(poolOf({ maxBatch: 4, maxContext: 100 })).toEqual({ pageSize: DEFAULT_PAGE_SIZE, pages: 8, rows: 512 });
    expect(poolOf({ maxBatch: 2, maxContext: 10, kvPageSize: 4 })).toEqual({ pageSize: 4, pages: 6, rows: 24 });
    expect(poolOf({ maxBatch: 2, maxContext: 10, kvPageSize: 4, kvPositions: 9 })).toEqual({ pageSize: 4, pages: 3, rows: 12 });
  });
});
