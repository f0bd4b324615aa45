/**
 * A V8 code cache for the CommonJS modules loaded after `installCodeCache`: ts-morph brings the
 * TypeScript compiler, ~9 MB of JavaScript whose compilation is about half of its ~0.3 s load on
 * every `dsv3c compile` (Node 20 has no module.enableCompileCache). Each module is compiled as
 * Node would compile it, with the bytes V8 made of it the last time; `save` writes the caches
 * that were missing or stale, after use, so that the functions compiled lazily are in them too.
 * A cache file is named by the module's path, size and mtime and Node's version (V8 itself only
 * checks the source length and its own flags); a cache V8 rejects is compiled afresh and replaced.
 * Any failure to read or write the cache only costs the time it would have saved.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { Script } from 'node:vm';

export interface CodeCache {
  /** Writes the caches of the modules compiled without one; returns how many. */
  save(): number;
}

interface CompilingModule {
  exports: unknown;
  _compile(content: string, filename: string): unknown;
}

export function installCodeCache(dir: string): CodeCache {
  const fresh: { script: Script; file: string }[] = [];
  const proto = (Module as unknown as { prototype: CompilingModule }).prototype;
  const compile = proto._compile;
  proto._compile = function (this: CompilingModule, content: string, filename: string) {
    if (content.startsWith('#!')) return compile.call(this, content, filename); // Node strips it; inside a wrapper it is a syntax error
    let file: string;
    let cachedData: Buffer | undefined;
    try {
      const { size, mtimeMs } = statSync(filename);
      file = path.join(dir, `${createHash('sha256').update(`${filename}\0${size}\0${mtimeMs}\0${process.version}`).digest('hex').slice(0, 32)}.bin`);
    } catch {
      return compile.call(this, content, filename);
    }
    try {
      cachedData = readFileSync(file);
    } catch {
      // first load of this module: compiled below, cached by save()
    }
    const script = new Script(Module.wrap(content), { filename, cachedData });
    if (!cachedData || script.cachedDataRejected) fresh.push({ script, file });
    const wrapper = script.runInThisContext() as (...args: unknown[]) => unknown;
    return wrapper.call(this.exports, this.exports, createRequire(filename), this, filename, path.dirname(filename));
  };
  return {
    save() {
      let saved = 0;
      for (const { script, file } of fresh.splice(0)) {
        try {
          mkdirSync(dir, { recursive: true });
          const temp = `${file}.${process.pid}.tmp`;
          writeFileSync(temp, script.createCachedData());
          renameSync(temp, file);
          saved++;
        } catch {
          // an unwritable folder: next time compiles without a cache, as now
        }
      }
      return saved;
    },
  };
}
