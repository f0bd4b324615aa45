#!/usr/bin/env node
// The CLI is TypeScript run through tsx's loader, so `npx dsv3c` needs no build step.
import { register } from 'tsx/esm/api';

// A closed pipe (`dsv3c inspect --json | head`) is the reader's choice, not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

register();
const { main } = await import('../compiler/cli/main.ts');
process.exitCode = await main(process.argv);
