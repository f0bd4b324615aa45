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
