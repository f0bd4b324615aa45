/**
 * `npm run compile` writes generated/deepseek-v3/{cuda,hip}; those folders are committed. A fresh
 * compile must reproduce them byte for byte (a change to the compiler shows up as a diff in review,
 * and this test fails until the output is regenerated), and two compiles must agree with each other.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dsv3c, readTree, treeDifferences } from './support.ts';

const compile = (target: string, out: string) => dsv3c('compile', '--config', 'configs/deepseek-v3.json', '--target', target, '--out', out);

describe('generated/deepseek-v3', () => {
  it('is what a fresh compile writes, and a second compile writes the same bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsv3c-gen-'));
    const runs = await Promise.all([compile('cuda', join(dir, 'cuda')), compile('hip', join(dir, 'hip')), compile('cuda', join(dir, 'cuda-again'))]);
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    for (const target of ['cuda', 'hip']) {
      const fresh = readTree(join(dir, target));
      expect(fresh.size).toBeGreaterThan(20);
      expect(treeDifferences(fresh, readTree(join('generated/deepseek-v3', target))), `regenerate with npm run compile`).toEqual([]);
    }
    expect(treeDifferences(readTree(join(dir, 'cuda')), readTree(join(dir, 'cuda-again')))).toEqual([]);
  }, 120_000);
});
