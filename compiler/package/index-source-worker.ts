/**
 * The worker thread of index-writer.ts: writes index.ts for the facts it was started with (loading
 * ts-morph is the slow part, done while the main thread compiles) and posts the text back. From
 * the CLI bundle, ts-morph loads with a V8 code cache kept beside it (code-cache.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { bundleCacheDir } from '../../runtime/src/package-root.ts';
import { installCodeCache } from './code-cache.ts';
import type { IndexFacts } from './index-source.ts';
import { indexSource } from './index-source.ts';

if (!parentPort) throw new Error('index-source-worker.ts runs as a worker thread (index-writer.ts starts it)');
const { facts } = workerData as { facts: IndexFacts };
const cacheDir = bundleCacheDir();
const cache = cacheDir === undefined ? undefined : installCodeCache(cacheDir);
try {
  const source = indexSource(facts);
  cache?.save();
  parentPort.postMessage({ source });
} catch (error) {
  parentPort.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}
