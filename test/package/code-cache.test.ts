/**
 * code-cache.ts in fresh processes (it patches the CommonJS loader of the process it runs in): a
 * module loaded the first time is compiled and its cache written after use; the next process
 * loads it from the cache (V8 accepts it: nothing to write); a changed module gets a new cache.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const codeCache = pathToFileURL(join(process.cwd(), 'compiler', 'package', 'code-cache.ts')).href;

/** Loads `module` (CommonJS) with the cache in `dir`; prints what it exports and how many caches save() wrote. */
function load(dir: string, module: string): { value: unknown; saved: number } {
  const script = `
    import { createRequire } from 'node:module';
    const { installCodeCache } = await import(${JSON.stringify(codeCache)});
    const cache = installCodeCache(${JSON.stringify(join(dir, 'cache'))});
    const value = createRequire(import.meta.url)(${JSON.stringify(module)}).answer();
    console.log(JSON.stringify({ value, saved: cache.save() }));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { value: unknown; saved: number };
}

describe('the V8 code cache of the index.ts worker', () => {
  it('is written after a first load, used by the next, and remade when the module changes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsv3c-code-cache-'));
    const module = join(dir, 'm.cjs');
    writeFileSync(module, "const path = require('node:path');\nexports.answer = () => [__filename === " + JSON.stringify(module) + ', path.basename(__dirname), 6 * 7];\n');
    const want = [true, dir.split(/[\\/]/).pop(), 42];
    expect(load(dir, module)).toEqual({ value: want, saved: 1 });
    expect(readdirSync(join(dir, 'cache'))).toHaveLength(1);
    expect(load(dir, module)).toEqual({ value: want, saved: 0 });

    writeFileSync(module, 'exports.answer = () => "changed";\n');
    expect(load(dir, module)).toEqual({ value: 'changed', saved: 1 });
    expect(readdirSync(join(dir, 'cache'))).toHaveLength(2);
  }, 60_000);

  it('costs nothing but time when its folder cannot be written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsv3c-code-cache-'));
    writeFileSync(join(dir, 'cache'), 'a file where the folder would be');
    const module = join(dir, 'm.cjs');
    writeFileSync(module, 'exports.answer = () => 1;\n');
    expect(load(dir, module)).toEqual({ value: 1, saved: 0 });
  }, 60_000);
});
