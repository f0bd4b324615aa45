import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { paramCounts } from '../../compiler/model/model-stats.ts';
import { publishedTable } from '../support/published-table.ts';

describe('DeepSeek-V3 parameter counts', () => {
  const config = loadConfig('configs/deepseek-v3.json');
  const counts = paramCounts(config);
  const table = publishedTable();

  it('reads a non-trivial table', () => {
    expect(table.rows.size).toBeGreaterThan(50);
    expect(table.total).toBe(671026419200);
  });

  it('totals the published figure, MTP apart', () => {
    expect(counts.total).toBe(table.total);
    expect(counts.mtp).toBeGreaterThan(11.5e9);
  });

  it('matches every module row of the table', () => {
    for (const [name, n] of table.rows) {
      expect({ name, n: counts.byTensor[`model.${name}`] }).toEqual({ name, n });
    }
  });

  it('activates about 37.5B parameters a token', () => {
    expect(Math.abs(counts.activePerToken / 37.5e9 - 1)).toBeLessThan(0.01);
    // DeepSeek's own figure leaves the embedding table out: 36.6B including the 0.9B head.
    expect(counts.activePerTokenWithoutEmbedding / 1e9).toBeCloseTo(36.6, 1);
  });
});
