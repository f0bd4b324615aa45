/**
 * `dsv3c run` end to end on a tiny checkpoint: the first run compiles and builds the package into
 * the cache (one DSV3C_CACHE_DIR for this file), prints tokens on stdout and progress on stderr;
 * later runs reuse the package; --dump-logits writes the logits of every prompt position and
 * generated token; the same seed gives the same tokens.
 */
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { runPackageDir } from '../../compiler/package/cached-package.ts';
import { tempFolder } from '../checkpoint/helpers.ts';
import { dsv3c } from '../package/support.ts';
import { argmax, readDump } from './run-support.ts';

const CONFIG = 'configs/tiny-moe-128.json';
const tmp = tempFolder('run');
const model = join(tmp.dir, 'tiny');
const cache = join(tmp.dir, 'cache');
const vocab = loadConfig(CONFIG).vocabSize;

beforeAll(async () => {
  process.env.DSV3C_CACHE_DIR = cache;
  const r = await dsv3c('make-tiny', '--config', CONFIG, '--out', model, '--seed', '11');
  expect(r.status, r.stderr).toBe(0);
});
afterAll(() => {
  delete process.env.DSV3C_CACHE_DIR;
  tmp.cleanup();
});

/** `dsv3c run` and how long it took, in ms. */
async function run(...args: string[]) {
  const started = Date.now();
  const r = await dsv3c('run', ...args);
  return { ...r, ms: Date.now() - started };
}

let firstMs = 0;

describe('dsv3c run', () => {
  it('compiles the package on first use and prints the generated text', async () => {
    const r = await run('--model', model, '--prompt', 'hello', '--max-new-tokens', '8');
    expect(r.status, r.stderr).toBe(0);
    firstMs = r.ms;
    expect(r.stdout.replace(/\n$/, '').length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/compiling tiny for cpu host \(fp8\)/);
    expect(r.stderr).toMatch(/building kernels: 100% \(\d+\/\d+\)/);
    expect(r.stderr).toMatch(/built \d+ kernels in [\d.]+ s/);
    expect(r.stderr).toMatch(/loading weights: 100%/);
    const stats = /(\d+) prompt tokens, (\d+) generated tokens .*decode .*; greedy/.exec(r.stderr);
    expect(stats, r.stderr).not.toBeNull();
    expect(Number(stats![1])).toBeGreaterThan(1); // BOS + "hello"
    expect(Number(stats![2])).toBeGreaterThanOrEqual(1);
    expect(Number(stats![2])).toBeLessThanOrEqual(8);
    // The package is where the cache key says, whole.
    const dir = runPackageDir(loadConfig(CONFIG), { cacheDir: cache });
    expect(existsSync(join(dir, 'plan.json'))).toBe(true);
    expect(existsSync(join(dir, 'build', 'build.json'))).toBe(true);
    expect(readdirSync(join(cache, 'packages'))).toEqual([dir.split('/').at(-1)]); // no staging folder left
  }, 180_000);

  it('--prompt-ids with --dump-logits: one row per prompt id and per generated token, each vocab_size long; same seed, same tokens', async () => {
    const ids = [1, 2, 3, 4, 5, 6, 7];
    const dumps = [join(tmp.dir, 'a', 'logits.json'), join(tmp.dir, 'b.json')];
    const runs = [];
    for (const file of dumps) {
      const r = await run('--model', model, '--prompt-ids', ids.join(','), '--max-new-tokens', '6', '--temperature', '0.8', '--seed', '1234', '--dump-logits', file);
      expect(r.status, r.stderr).toBe(0);
      runs.push(r);
    }
    for (const r of runs) {
      // The cached package is reused: nothing compiled, faster than the first run.
      expect(r.stderr).not.toMatch(/compiling|building kernels|built \d+ kernels/);
      expect(r.stderr).toMatch(/package: .* \(cached\)/);
      expect(r.stderr).toMatch(/temperature 0\.8, top-p 1, seed 1234/);
      if (firstMs > 0) expect(r.ms).toBeLessThan(firstMs);
    }
    const [a, b] = dumps.map(readDump);
    expect(a.prompt_ids).toEqual(ids);
    expect(a.prompt_logits.length).toBe(ids.length);
    for (const row of [...a.prompt_logits, ...a.generated_logits]) {
      expect(row.length).toBe(vocab);
      expect(row.every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
    }
    expect(a.generated_ids.length).toBe(a.generated_logits.length);
    expect(a.generated_ids.length).toBeGreaterThanOrEqual(1);
    expect(a.generated_ids.length).toBeLessThanOrEqual(6);
    // The first token is drawn from the last prompt position's logits.
    expect(a.generated_logits[0]).toEqual(a.prompt_logits.at(-1));
    expect(b.generated_ids).toEqual(a.generated_ids);
    expect(b.prompt_ids).toEqual(a.prompt_ids);
    // The checkpoint has a tokenizer: the tokens print as text, and the stats count them.
    expect(runs[0].stdout).toBe(runs[1].stdout);
    expect(runs[0].stderr).toContain(`${ids.length} prompt tokens, ${a.generated_ids.length} generated tokens`);
    expect(readdirSync(join(tmp.dir, 'a'))).toEqual(['logits.json']); // no temp file left
  }, 120_000);

  it('greedy (the default without generation_config.json) picks the argmax of each row; without a tokenizer ids print space-separated; a small --kv-positions ends the generation where the pool does', async () => {
    const bare = join(tmp.dir, 'no-tokenizer');
    cpSync(model, bare, { recursive: true });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) rmSync(join(bare, f), { force: true });
    const file = join(tmp.dir, 'greedy.json');
    const r = await run('--model', bare, '--prompt-ids', '5,9,200,3', '--max-new-tokens', '5', '--dump-logits', file);
    expect(r.status, r.stderr).toBe(0);
    const d = readDump(file);
    expect(d.generated_ids.length).toBe(5); // no tokenizer: no stop ids
    expect(d.generated_ids).toEqual(d.generated_logits.map(argmax));
    expect(r.stdout).toBe(`${d.generated_ids.join(' ')}\n`);
    expect(r.stderr).toMatch(/4 prompt tokens, 5 generated tokens \(stopped at --max-new-tokens\).*; greedy/);

    // A KV pool of 3 pages of 2 positions holds the 4 prompt tokens and 2 more: 3 tokens, the same ones.
    const small = await run('--model', bare, '--prompt-ids', '5,9,200,3', '--max-new-tokens', '10', '--kv-positions', '6', '--kv-page-size', '2');
    expect(small.status, small.stderr).toBe(0);
    expect(small.stdout).toBe(`${d.generated_ids.slice(0, 3).join(' ')}\n`);
    expect(small.stderr).toMatch(/4 prompt tokens, 3 generated tokens \(stopped at the end of the KV pool \(--kv-positions\)\)/);
    const tooSmall = await run('--model', bare, '--prompt-ids', '5,9,200,3', '--kv-positions', '4');
    expect(tooSmall.status).toBe(2);
    expect(tooSmall.stderr).toMatch(/--kv-positions 4: the KV cache must hold the prompt \(4 tokens\) and one more; expected at least 5/);

    // A text prompt needs the tokenizer: the error names the file.
    const text = await run('--model', bare, '--prompt', 'hello');
    expect(text.status).toBe(2);
    expect(text.stderr).toMatch(/tokenizer\.json: not found/);
  }, 120_000);
});
