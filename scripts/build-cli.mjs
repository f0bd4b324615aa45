#!/usr/bin/env node
// `npm run build:cli` (and postinstall): bundles the CLI into dist/cli/ (see cli-bundle.mjs).
import { buildBundle } from './cli-bundle.mjs';

const started = performance.now();
await buildBundle();
console.log(`dsv3c: CLI bundled into dist/cli/ in ${((performance.now() - started) / 1000).toFixed(2)} s`);
