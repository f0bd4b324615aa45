/**
 * The worker thread of index-writer.ts: writes index.ts for the facts it was started with (loading
 * ts-morph is the slow part, done while the main thread compiles) and posts the text back. From
 * the CLI bundle, ts-morph loads with a V8 code cache kept beside it (code-cache.ts).
 */
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { installCodeCache } from './code-cache.ts';
import type { IndexFacts } from './index-source.ts';
import { indexSource } from './index-source.ts';

if (!parentPort) throw new Error('index-source-worker.ts runs as a worker thread (index-writer.ts starts it)');
const { facts } = workerData as { facts: IndexFacts };
const cache = import.meta.url.endsWith('.mjs') ? installCodeCache(fileURLToPath(new URL('./code-cache/', import.meta.url))) : undefined;
try {
  const source = indexSource(facts);
  cache?.save();
  parentPort.postMessage({ source });
} catch (error) {
  parentPort.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}
