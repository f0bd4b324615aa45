/**
 * `compile --target cpu --build`: every kernel source becomes a shared library in build/,
 * compiled in parallel into a cache keyed by source and flags; a second build compiles nothing.
 * Bad options are usage errors (exit 2) that name the option, and leave no package behind.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dsv3c } from './support.ts';

describe('compile --build', () => {
  it('builds every kernel once, in parallel, and a second build is a cache hit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsv3c-build-'));
    process.env.DSV3C_CACHE_DIR = join(dir, 'cache');
    const out = join(dir, 'pkg');
    const args = ['compile', '--config', 'configs/tiny-moe-128.json', '--target', 'cpu', '--out', out, '--build', '--jobs', '4'];
    const first = await dsv3c(...args);
    expect(first.status, first.stderr).toBe(0);
    const sources = readdirSync(join(out, 'kernels'));
    const m = /built (\d+) kernels in [\d.]+ s: (\d+) compiled, (\d+) from the cache/.exec(first.stderr)!;
    expect(m, first.stderr).not.toBeNull();
    expect([Number(m[1]), Number(m[2]), Number(m[3])]).toEqual([sources.length, sources.length, 0]);
    const binaries = readdirSync(join(out, 'build')).filter((f) => f.endsWith('.so'));
    expect(binaries.map((f) => f.replace(/\.so$/, '')).sort()).toEqual(sources.map((f) => f.replace(/\.cc$/, '')).sort());
    const record = JSON.parse(readFileSync(join(out, 'build', 'build.json'), 'utf8'));
    expect(Object.keys(record.binaries).length).toBe(sources.length);

    const second = await dsv3c(...args);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toContain(`built ${sources.length} kernels`);
    expect(second.stderr).toContain(`0 compiled, ${sources.length} from the cache`);
    delete process.env.DSV3C_CACHE_DIR;
  }, 300_000);

  it('refuses options that do not fit, naming them, and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsv3c-badopt-'));
    const cases: [string[], RegExp][] = [
      [['--target', 'tpu'], /--target tpu: expected one of cuda, hip, cpu/],
      [['--target', 'cuda', '--arch', 'gfx90a'], /--arch gfx90a is not an architecture of --target cuda/],
      [['--build'], /need --target/],
      [['--target', 'cpu', '--jobs', '0'], /--jobs 0/],
    ];
    for (const [extra, message] of cases) {
      const r = await dsv3c('compile', '--config', 'configs/tiny-moe-128.json', '--out', join(dir, 'pkg'), ...extra);
      expect(r.status, extra.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(dir, 'pkg'))).toBe(false);
    }
    const both = await dsv3c('compile', '--config', 'configs/tiny-moe-128.json', '--model', dir);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/exactly one of --config FILE or --model DIR/);
  }, 120_000);

  it('will not replace a folder that is not a dsv3c package', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsv3c-notpkg-'));
    mkdirSync(join(dir, 'mine'));
    writeFileSync(join(dir, 'mine', 'notes.txt'), 'keep me');
    const r = await dsv3c('compile', '--config', 'configs/tiny-moe-128.json', '--target', 'cpu', '--out', join(dir, 'mine'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/is not a dsv3c package/);
    expect(readFileSync(join(dir, 'mine', 'notes.txt'), 'utf8')).toBe('keep me');
  }, 60_000);
});
