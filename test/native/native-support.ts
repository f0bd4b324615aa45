/** Shared by the native addon tests: paths, and building fixture shared libraries with c++. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(REPO, 'test/native/fixtures');
export const NATIVE_INCLUDE = path.join(REPO, 'runtime/native/include');
export const NATIVE_SRC = path.join(REPO, 'runtime/native/src');

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `dsv3c-${prefix}-`));
}

/**
 * Compiles one fixture source into a shared library in a fresh temp dir with the system c++,
 * the way the cpu target's kernels are built (-O2 -shared -fPIC); returns the library's path.
 */
export function buildSharedLibrary(source: string, name: string, extraFlags: string[] = []): string {
  const out = path.join(tempDir(name), `lib${name}.so`);
  execFileSync(
    process.env.CXX ?? 'c++',
    ['-O2', '-shared', '-fPIC', '-std=c++17', '-ffp-contract=off', `-I${NATIVE_INCLUDE}`, ...extraFlags, '-o', out, source],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  return out;
}
