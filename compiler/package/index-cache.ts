/**
 * index.ts texts the worker wrote before, kept beside the CLI bundle. index.ts depends on its facts
 * and on the code that writes it alone, so a compile whose facts were seen before (the same
 * config, target and options) takes the text from here and never starts the worker: loading
 * ts-morph costs ~0.45 s of CPU, which on a 2-core machine slows the compile beside it by ~0.15 s.
 * The key holds the facts, the worker bundle's text (the writing code) and ts-morph's version;
 * from the sources (tsx) there is no cache. Unreadable or unwritable: as if empty.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { bundleCacheDir, bundleDir } from '../../runtime/src/package-root.ts';
import type { IndexFacts } from './index-source.ts';

export interface IndexCache {
  read(): string | undefined;
  write(source: string): void;
}

export function indexCache(facts: IndexFacts): IndexCache | undefined {
  const bundle = bundleDir();
  const dir = bundleCacheDir();
  if (bundle === undefined || dir === undefined) return undefined;
  let file: string;
  try {
    const writer = readFileSync(join(bundle, 'index-source-worker.mjs'));
    const tsMorph = (createRequire(import.meta.url)('ts-morph/package.json') as { version: string }).version;
    const key = createHash('sha256').update(JSON.stringify(facts)).update(writer).update(tsMorph).digest('hex').slice(0, 32);
    file = join(dir, `index-${key}.ts`);
  } catch {
    return undefined;
  }
  return {
    read() {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return undefined;
      }
    },
    write(source) {
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(`${file}.${process.pid}.tmp`, source);
        renameSync(`${file}.${process.pid}.tmp`, file);
      } catch {
        // next time the worker writes it again
      }
    },
  };
}
