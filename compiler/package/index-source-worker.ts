/**
 * The worker thread of index-writer.ts: writes index.ts for the facts it was started with (loading
 * ts-morph is the slow part, done while the main thread compiles) and posts the text back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { IndexFacts } from './index-source.ts';
import { indexSource } from './index-source.ts';

if (!parentPort) throw new Error('index-source-worker.ts runs as a worker thread (index-writer.ts starts it)');
const { facts } = workerData as { facts: IndexFacts };
try {
  parentPort.postMessage({ source: indexSource(facts) });
} catch (error) {
  parentPort.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}
