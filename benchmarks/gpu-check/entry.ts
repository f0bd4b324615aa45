/**
 * The GPU bundle's entry (scripts/gpu-bundle.sh bundles it as .gpu/dsv3c.mjs): `gpu-check …` runs
 * the GPU check (run.ts); anything else is the dsv3c CLI (compiler/cli/main.ts).
 */
import './env.ts';
import { main } from '../../compiler/cli/main.ts';
import { gpuCheck } from './run.ts';

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = process.argv[2] === 'gpu-check' ? await gpuCheck(process.argv.slice(3)) : await main(process.argv);
