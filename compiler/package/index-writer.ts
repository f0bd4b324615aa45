/**
 * index.ts written on a worker thread. ts-morph brings the TypeScript compiler, about 0.3 s to
 * load: started with the compile, that load runs beside it on another core instead of after it.
 * The facts are known before the compile (indexFacts), so the worker gets them at its start,
 * answers once and exits. Facts seen before are answered from index-cache.ts, with no worker.
 */
import { Worker } from 'node:worker_threads';
import { indexCache } from './index-cache.ts';
import type { IndexFacts } from './index-source.ts';

export interface IndexOnWorker {
  /** index.ts's text. */
  readonly source: Promise<string>;
  /** Stops the worker if it is still running (a compile that failed first does not wait for it). */
  stop(): Promise<void>;
}

export function writeIndexOnWorker(facts: IndexFacts): IndexOnWorker {
  const cache = indexCache(facts);
  const cached = cache?.read();
  if (cached !== undefined) return { source: Promise.resolve(cached), stop: async () => {} };
  const worker = startWorker(facts);
  const source = new Promise<string>((resolve, reject) => {
    const fail = (error: Error) => reject(new Error(`dsv3c: writing index.ts on a worker thread failed: ${error.message}`, { cause: error }));
    worker.on('message', (reply: { source: string } | { error: string }) => ('source' in reply ? resolve(reply.source) : fail(new Error(reply.error))));
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the worker exited with code ${code} before answering`)));
  });
  source.then((text) => cache?.write(text), () => {}); // the caller awaits it later; a failure before then is not unhandled
  return { source, stop: async () => void (await worker.terminate()) };
}

/**
 * From the sources (tsx), the worker registers tsx's loader before importing the .ts module (a
 * worker does not inherit it); the CLI bundle (scripts/cli-bundle.mjs) has the worker bundled beside it.
 */
function startWorker(facts: IndexFacts): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./index-source-worker.mjs', import.meta.url), { workerData: { facts } });
  const workerData = { facts, tsx: import.meta.resolve('tsx/esm/api'), module: new URL('./index-source-worker.ts', import.meta.url).href };
  const boot = 'const { workerData: w } = require("node:worker_threads"); import(w.tsx).then((tsx) => { tsx.register(); return import(w.module); });';
  return new Worker(boot, { eval: true, workerData });
}
