/**
 * The worker thread of index-writer.ts: loads ts-morph at once (the slow part, while the main
 * thread compiles), then answers each IndexFacts message with index.ts's text.
 */
import { parentPort } from 'node:worker_threads';
import type { IndexFacts } from './index-source.ts';
import { indexSource, loadTsMorph } from './index-source.ts';

const port = parentPort;
if (!port) throw new Error('index-source-worker.ts runs as a worker thread (index-writer.ts starts it)');
loadTsMorph();
port.on('message', (facts: IndexFacts) => {
  try {
    port.postMessage({ source: indexSource(facts) });
  } catch (error) {
    port.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
