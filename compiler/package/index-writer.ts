/**
 * index.ts written on a worker thread. ts-morph brings the TypeScript compiler, about 0.3 s to
 * load: started before the compile, that load runs beside it on another core instead of after it
 * (`dsv3c compile` of DeepSeek-V3 is otherwise about that long). The worker is unref'd while idle,
 * so a compile that fails early exits without waiting for it.
 */
import { Worker } from 'node:worker_threads';
import type { IndexFacts } from './index-source.ts';

export interface IndexWriter {
  /** index.ts's text for `facts` (one request at a time). */
  write(facts: IndexFacts): Promise<string>;
  close(): Promise<void>;
}

type Reply = { source: string } | { error: string };

export function startIndexWriter(): IndexWriter {
  const worker = startWorker();
  worker.unref();
  let failure: Error | undefined;
  let pending: { resolve: (s: string) => void; reject: (e: Error) => void } | undefined;
  const fail = (error: Error) => {
    failure ??= new Error(`dsv3c: writing index.ts on a worker thread failed: ${error.message}`, { cause: error });
    pending?.reject(failure);
    pending = undefined;
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the worker exited with code ${code}`)));
  worker.on('message', (reply: Reply) => {
    const p = pending;
    pending = undefined;
    worker.unref();
    if ('source' in reply) p?.resolve(reply.source);
    else p?.reject(new Error(`dsv3c: writing index.ts failed: ${reply.error}`));
  });
  return {
    write(facts) {
      if (failure) return Promise.reject(failure);
      if (pending) return Promise.reject(new Error('IndexWriter.write: one request at a time'));
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        worker.ref();
        worker.postMessage(facts);
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}

/**
 * From the sources (tsx), the worker registers tsx's loader before importing the .ts module (a
 * worker does not inherit it); the CLI bundle (scripts/build-cli.mjs) has the worker bundled beside it.
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./index-source-worker.mjs', import.meta.url));
  const workerData = { tsx: import.meta.resolve('tsx/esm/api'), module: new URL('./index-source-worker.ts', import.meta.url).href };
  const boot = 'const { workerData: w } = require("node:worker_threads"); import(w.tsx).then((tsx) => { tsx.register(); return import(w.module); });';
  return new Worker(boot, { eval: true, workerData });
}
