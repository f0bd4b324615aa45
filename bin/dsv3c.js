#!/usr/bin/env node
// The CLI is TypeScript. It runs from the bundle in dist/cli/ (scripts/cli-bundle.mjs), rebuilt
// here when a source is newer; through tsx's loader when that cannot be done (or DSV3C_TSX=1).
import { buildBundle, freshBundle } from '../scripts/cli-bundle.mjs';

// A closed pipe (`dsv3c inspect --json | head`) is the reader's choice, not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

async function loadMain() {
  if (process.env.DSV3C_TSX !== '1') {
    try {
      return (await import(freshBundle() ?? (await buildBundle()))).main;
    } catch {
      // unwritable dist/ or a source esbuild rejects: tsx below says what is wrong
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  return (await import('../compiler/cli/main.ts')).main;
}

const main = await loadMain();
process.exitCode = await main(process.argv);
