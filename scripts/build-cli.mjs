#!/usr/bin/env node
// `npm run build:cli` (and postinstall): bundles the CLI into dist/cli/ (see cli-bundle.mjs), then
// runs the index.ts worker once on sample facts so that ts-morph's V8 code cache is there before
// the first compile (compiler/package/code-cache.ts; it saves ~0.1 s of that compile's CPU).
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildBundle } from './cli-bundle.mjs';

const started = performance.now();
const main = await buildBundle();
console.log(`dsv3c: CLI bundled into dist/cli/ in ${((performance.now() - started) / 1000).toFixed(2)} s`);

const facts = { model: 'warm-up', target: 'cpu', arch: 'host', actQuant: 'none', disabledPasses: [], vocabSize: 1, maxPositions: 1, header: '// warm-up' };
const warm = new Worker(new URL('./index-source-worker.mjs', pathToFileURL(main)), { workerData: { facts } });
const reply = await new Promise((resolve) => {
  warm.once('message', resolve);
  warm.once('error', (error) => resolve({ error: error.message }));
});
await warm.terminate();
// Only time is at stake: a failure here is the compile's to report, with its own message.
if ('source' in reply) console.log('dsv3c: ts-morph code cache ready in dist/cli/code-cache/');
else console.log(`dsv3c: ts-morph code cache not made (${reply.error.split('\n')[0]}); compiles will make it`);
