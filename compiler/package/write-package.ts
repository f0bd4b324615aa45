/**
 * Puts a generated package on disk whole or not at all: every file goes into a sibling staging
 * folder, which then replaces the old package by two renames. A folder that exists and is not a
 * dsv3c package is refused rather than replaced (an --out pointing at the wrong place must not
 * delete anything). A previous build/ does not survive: its binaries may not match the new
 * sources, and `--build` refills it from the cache in a moment.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { PackageFiles } from './generate-package.ts';

export class PackageDirError extends Error {
  readonly userFacing = true;
}

export function writePackage(outDir: string, files: PackageFiles): void {
  checkPackageDir(outDir);
  const parent = dirname(outDir);
  mkdirSync(parent, { recursive: true });
  const tag = `${process.pid}.${Date.now().toString(36)}`;
  const staging = join(parent, `.${basename(outDir)}.${tag}.tmp`);
  const old = join(parent, `.${basename(outDir)}.${tag}.old`);
  try {
    for (const [rel, text] of files) {
      const path = join(staging, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  if (existsSync(outDir)) renameSync(outDir, old);
  renameSync(staging, outDir);
  rmSync(old, { recursive: true, force: true });
}

/** Throws unless `outDir` may be written: absent, empty, or a dsv3c package (compile checks before compiling, too). */
export function checkPackageDir(outDir: string): void {
  if (existsSync(outDir) && readdirSync(outDir).length > 0 && !isPackage(outDir)) {
    throw new PackageDirError(`--out ${outDir}: exists, is not empty and is not a dsv3c package (no package.json with a "dsv3c" field); choose another folder`);
  }
}

export function isPackage(dir: string): boolean {
  try {
    return 'dsv3c' in JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch {
    return false;
  }
}
