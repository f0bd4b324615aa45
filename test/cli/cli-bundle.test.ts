/**
 * bin/dsv3c.js runs the CLI from the esbuild bundle in dist/cli/ when no source it was made from is
 * newer, rebuilds it when one is, and runs the TypeScript through tsx when asked (DSV3C_TSX=1).
 * The bundle carries the kernel templates precompiled; from the sources they are compiled on use.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshBundle } from '../../scripts/cli-bundle.mjs';
import { readTree, treeDifferences } from '../package/support.ts';

const stamp = join('dist', 'cli', 'inputs.json');
const version = (env: Record<string, string> = {}) => spawnSync(process.execPath, ['bin/dsv3c.js', '--version'], { encoding: 'utf8', env: { ...process.env, ...env } });

describe('the CLI bundle', () => {
  it('is (re)built by the first command after a source changed, and then used as it is', () => {
    const first = version();
    expect(first.status, first.stderr).toBe(0);
    expect(freshBundle()).toBe(join(process.cwd(), 'dist', 'cli', 'main.mjs'));

    // Older than any checkout: every source is now newer than the bundle (an hour ago was not
    // enough where the checkout itself is older than that).
    const past = new Date(1_000_000);
    utimesSync(stamp, past, past);
    expect(freshBundle()).toBeUndefined();
    const rebuilt = version();
    expect(rebuilt.status, rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toBe(first.stdout);
    expect(statSync(stamp).mtimeMs).toBeGreaterThan(past.getTime() + 1000);
    expect(freshBundle()).toBeDefined();
  });

  it('holds every kernel template precompiled, and goes stale when a template changes', () => {
    expect(version().status).toBe(0);
    const specs = createRequire(import.meta.url)(join(process.cwd(), 'dist', 'cli', 'templates.cjs')) as Record<string, { main: unknown }>;
    const templates = readdirSync('templates', { recursive: true }).map(String).filter((f) => f.endsWith('.hbs'));
    expect(Object.keys(specs).sort()).toEqual(templates.map((f) => f.split('\\').join('/')).sort());
    for (const spec of Object.values(specs)) expect(typeof spec.main).toBe('function');

    const future = new Date(Date.now() + 3_600_000);
    const gemm = join('templates', 'cuda', 'gemm.cu.hbs');
    const before = statSync(gemm);
    utimesSync(gemm, future, future);
    try {
      expect(freshBundle()).toBeUndefined();
    } finally {
      utimesSync(gemm, before.atime, before.mtime);
    }
    expect(freshBundle()).toBeDefined();
  });

  it('runs from the sources through tsx with DSV3C_TSX=1, with the same result (index.ts from the worker thread either way)', () => {
    const bundled = version();
    const tsx = version({ DSV3C_TSX: '1' });
    expect(tsx.status, tsx.stderr).toBe(0);
    expect(tsx.stdout).toBe(bundled.stdout);

    const dir = mkdtempSync(join(tmpdir(), 'dsv3c-cli-bundle-'));
    const compile = (out: string, env: Record<string, string>) =>
      spawnSync(process.execPath, ['bin/dsv3c.js', 'compile', '--config', 'configs/tiny-moe-128.json', '--target', 'cpu', '--out', join(dir, out)], { encoding: 'utf8', env: { ...process.env, ...env } });
    for (const [out, env] of [['bundled', {}], ['tsx', { DSV3C_TSX: '1' }]] as const) expect(compile(out, env).status).toBe(0);
    const fromBundle = readTree(join(dir, 'bundled'));
    expect(fromBundle.get('index.ts')?.toString()).toMatch(/export async function load\(/);
    expect(treeDifferences(fromBundle, readTree(join(dir, 'tsx')))).toEqual([]);
  }, 60_000);

  it('keeps the index.ts the worker wrote and uses it for the same facts instead of starting the worker', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsv3c-index-cache-'));
    const config = join(dir, `tiny-${process.pid}-${Date.now()}.json`); // facts no other test has
    copyFileSync('configs/tiny-moe-128.json', config);
    const compile = (out: string) => spawnSync(process.execPath, ['bin/dsv3c.js', 'compile', '--config', config, '--target', 'cpu', '--out', join(dir, out)], { encoding: 'utf8' });
    const cacheDir = join('dist', 'cli', 'code-cache');
    const cached = () => readdirSync(cacheDir).filter((f) => f.startsWith('index-')).map((f) => join(cacheDir, f)).filter((f) => readFileSync(f, 'utf8').includes(config.split(/[\\/]/).pop()!.replace(/\.json$/, '')));

    expect(compile('first').status).toBe(0);
    const [file] = cached();
    expect(file).toBeDefined();
    const index = readFileSync(join(dir, 'first', 'index.ts'), 'utf8');
    expect(readFileSync(file, 'utf8')).toBe(index);
    // The next compile of these facts takes its index.ts from the cache (marked here to show it).
    writeFileSync(file, `${index}// from the cache\n`);
    expect(compile('second').status).toBe(0);
    expect(readFileSync(join(dir, 'second', 'index.ts'), 'utf8')).toBe(`${index}// from the cache\n`);
    rmSync(file);
    expect(compile('third').status).toBe(0);
    expect(readFileSync(join(dir, 'third', 'index.ts'), 'utf8')).toBe(index);
    rmSync(cached()[0]);
  }, 60_000);
});
