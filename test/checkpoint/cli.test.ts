import { spawnSync } from 'node:child_process';
import { truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, tempFolder, TINY_CONFIGS } from './helpers.ts';

const tmp = tempFolder('cli');
afterAll(tmp.cleanup);

/** Runs the real `dsv3c` binary. */
function dsv3c(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'dsv3c.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('dsv3c make-tiny and check', () => {
  const dir = join(tmp.dir, 'tiny');
  const config = TINY_CONFIGS.find((c) => c.includes('noqlora'))!;

  it('make-tiny writes a checkpoint that check accepts (exit 0)', () => {
    const made = dsv3c('make-tiny', '--config', config, '--out', dir, '--seed', '5', '--shards', '3');
    expect(made.stderr).toContain('113 tensors in 3 shards, seed 5');
    expect(made.status).toBe(0);
    const checked = dsv3c('check', '--model', dir);
    expect(checked.stdout).toContain('ok: no problems');
    expect(checked.stdout).toContain('index + 3 shards');
    expect(checked.status).toBe(0);
  });

  it('check exits 1 on a truncated shard and names file and tensor', () => {
    const shard = join(dir, 'model-00003-of-00003.safetensors');
    truncateSync(shard, statSync(shard).size - 1);
    const r = dsv3c('check', '--model', dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`error: ${shard.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: tensor "lm_head.weight": data ends at`));
  });

  it('exits 2 with a one-line message on bad arguments', () => {
    const missing = dsv3c('check', '--model', join(tmp.dir, 'nope'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^dsv3c: --model .*nope: not a folder\n$/);
    const shards = dsv3c('make-tiny', '--config', config, '--out', join(tmp.dir, 'x'), '--shards', '0');
    expect(shards.status).toBe(2);
    expect(shards.stderr).toContain('--shards 0: expected an integer from 1 to 113');
  });
});
