/**
 * The dsv3c package's folder (templates/, runtime/native/, package.json): the nearest folder above
 * this module whose package.json is dsv3c's. Walking up rather than a fixed `../..` lets the same
 * code run from its sources (tsx) and from a bundle that puts every module in one file
 * (dist/cli/main.mjs, .gpu/dsv3c.mjs).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'dsv3c') return (root = dir);
    if (path.dirname(dir) === dir) throw new Error(`dsv3c: no dsv3c package.json in any folder above ${start}`);
  }
}

/**
 * The folder of the bundle this code runs from (dist/cli/ for the CLI, .gpu/ for the GPU bundle),
 * where the CLI keeps what it makes beside the bundle: precompiled templates, code-cache/.
 * Undefined when it runs from its TypeScript sources (tsx, the tests).
 */
export function bundleDir(): string | undefined {
  return import.meta.url.endsWith('.mjs') ? path.dirname(fileURLToPath(import.meta.url)) : undefined;
}

/** bundleDir()/code-cache: ts-morph's V8 code cache and the index.ts texts (deleting it only costs time). */
export function bundleCacheDir(): string | undefined {
  const dir = bundleDir();
  return dir === undefined ? undefined : path.join(dir, 'code-cache');
}
