import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { makeTinyCheckpoint } from '../../checkpoint/make-tiny.ts';
import { loadConfig } from '../../config/parse-config.ts';
import { checkpointTensors } from '../../model/checkpoint-tensors.ts';
import { UsageError } from '../usage-error.ts';

export interface MakeTinyArgs {
  readonly config: string;
  readonly out: string;
  readonly seed?: string;
  readonly shards?: string;
}

/** `dsv3c make-tiny`: a random checkpoint of a config in the real DeepSeek-V3 format. */
export function registerMakeTiny(program: Command): void {
  program
    .command('make-tiny')
    .description('Write a random checkpoint of a config in the real format (FP8 block-scaled linears, shards, index, tokenizer); same seed, same bytes')
    .requiredOption('--config <file>', 'config.json of the model to make')
    .requiredOption('--out <dir>', 'folder to create (must be new or empty)')
    .option('--seed <n>', 'random seed, an integer in [0, 2^32)', '0')
    .option('--shards <k>', 'number of safetensors shards (1: a single model.safetensors, no index)', '2')
    .action(async (opts: MakeTinyArgs) => {
      await runMakeTiny(opts, (s) => process.stderr.write(s));
    });
}

/** `progress` receives human-readable progress lines (stderr in the CLI). */
export async function runMakeTiny(args: MakeTinyArgs, progress: (text: string) => void = () => {}): Promise<void> {
  const seed = integerOption('--seed', args.seed ?? '0', 0, 2 ** 32 - 1);
  const config = loadConfig(args.config);
  const count = checkpointTensors(config).length;
  const shards = integerOption('--shards', args.shards ?? '2', 1, count);
  const started = Date.now();
  let lastLine = started;
  await makeTinyCheckpoint(config, args.out, {
    seed,
    shards,
    configText: readFileSync(args.config, 'utf8'),
    onProgress: (file, done, total) => {
      // One line per finished shard, and at most one a second while a big one is written.
      const now = Date.now();
      if (done === total || now - lastLine > 1000) {
        lastLine = now;
        progress(`make-tiny: ${file} ${done === total ? 'written' : `${Math.floor((100 * done) / total)}%`} (${total.toLocaleString('en-US')} bytes)\n`);
      }
    },
  });
  progress(`make-tiny: ${args.out}: ${count} tensors in ${shards} shard${shards === 1 ? '' : 's'}, seed ${seed}, ${Date.now() - started} ms\n`);
}

function integerOption(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} ${text}: expected an integer from ${min} to ${max}`);
  }
  return n;
}
