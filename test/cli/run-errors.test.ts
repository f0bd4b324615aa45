/**
 * `dsv3c run` on bad input, end to end: each case exits with 2, the message names the file,
 * tensor or option and what was expected, and the --dump-logits file (or a temp file of it) does
 * not exist afterwards. The package is built once, in-process, into this file's cache folder.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { packageForRun } from '../../compiler/package/cached-package.ts';
import { makeTiny, tempFolder } from '../checkpoint/helpers.ts';
import { dsv3c } from '../package/support.ts';
import { editTensor } from '../runtime/checkpoint-edits.ts';
import { deleteTensor } from './run-support.ts';

const CONFIG = 'configs/tiny-moe-128.json';
const tmp = tempFolder('run-errors');
const base = join(tmp.dir, 'base');
const cache = join(tmp.dir, 'cache');
let packageDir = '';

beforeAll(async () => {
  process.env.DSV3C_CACHE_DIR = cache;
  await makeTiny(CONFIG, base, { seed: 5, shards: 2 });
  packageDir = (await packageForRun(loadConfig(CONFIG), { cacheDir: cache, model: 'base' })).dir;
}, 180_000);
afterAll(() => {
  delete process.env.DSV3C_CACHE_DIR;
  tmp.cleanup();
});

let n = 0;
/** A copy of the base checkpoint, and a fresh folder for its --dump-logits file. */
function copy(): { dir: string; dumpDir: string; dump: string } {
  const dir = join(tmp.dir, `c${n}`);
  const dumpDir = join(tmp.dir, `dump${n++}`);
  cpSync(base, dir, { recursive: true });
  mkdirSync(dumpDir);
  return { dir, dumpDir, dump: join(dumpDir, 'logits.json') };
}

/** Runs, expecting exit 2 with `message` on stderr and nothing in the dump folder. */
async function fails(dumpDir: string, message: RegExp | string, ...args: string[]): Promise<string> {
  const r = await dsv3c('run', ...args);
  expect(r.status, r.stderr).toBe(2);
  if (typeof message === 'string') expect(r.stderr).toContain(message);
  else expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  expect(r.stdout).toBe('');
  expect(readdirSync(dumpDir)).toEqual([]);
  return r.stderr;
}

describe('dsv3c run refuses bad input with a message and no --dump-logits file', () => {
  it('a missing tensor: names it, says no shard holds it, and what was expected', async () => {
    const { dir, dumpDir, dump } = copy();
    const tensor = 'model.layers.1.mlp.experts.1.down_proj.weight';
    await deleteTensor(dir, tensor);
    await fails(dumpDir, new RegExp(`tensor "${tensor.replace(/\./g, '\\.')}" is missing: no shard holds it .*; expected F8_E4M3\\[\\d+,\\d+\\]`), '--model', dir, '--prompt-ids', '1,2,3', '--dump-logits', dump);
  });

  it('a wrong shape: names the tensor, its shard, what was found and expected', async () => {
    const { dir, dumpDir, dump } = copy();
    const tensor = 'model.embed_tokens.weight';
    let shape: number[] = [];
    const file = editTensor(dir, tensor, (entry) => {
      shape = entry.shape as number[];
      entry.shape = [shape[1], shape[0]];
    });
    await fails(dumpDir, `tensor "${tensor}" in ${file} has the wrong shape: found BF16[${shape[1]},${shape[0]}]; expected BF16[${shape[0]},${shape[1]}]`, '--model', dir, '--prompt', 'hello', '--dump-logits', dump);
  });

  it('a truncated shard: names the file and the tensor past its end', async () => {
    const { dir, dumpDir, dump } = copy();
    const file = join(dir, 'model-00002-of-00002.safetensors');
    truncateSync(file, statSync(file).size - 100);
    await fails(dumpDir, new RegExp(`${file.replace(/[.]/g, '\\.')}: tensor "[^"]+": .*past the end of the file.*; expected end ≤ \\d+`), '--model', dir, '--prompt-ids', '1,2,3', '--dump-logits', dump);
  });

  it('a prompt longer than --max-context, and a memory budget the model does not fit', async () => {
    const { dir, dumpDir, dump } = copy();
    await fails(dumpDir, /the prompt has 8 tokens and --max-context 8 leaves no room to generate; expected at most 7 prompt tokens/, '--model', dir, '--prompt-ids', '1,2,3,4,5,6,7,8', '--max-context', '8', '--dump-logits', dump);
    await fails(dumpDir, /--memory-budget 1MiB: the model needs [\d.]+ MiB on cpu .* but the budget is 1\.0 MiB; lower --max-batch, --max-context or --kv-positions/, '--model', dir, '--prompt-ids', '1,2', '--memory-budget', '1MiB', '--dump-logits', dump);
  });

  it('a checkpoint whose config is not the one --package was compiled from', async () => {
    const other = join(tmp.dir, 'noqlora');
    await makeTiny('configs/tiny-noqlora.json', other, { seed: 5, shards: 1 });
    const dumpDir = join(tmp.dir, 'dump-other');
    mkdirSync(dumpDir);
    await fails(dumpDir, `${join(other, 'config.json')} is not the config ${packageDir} was compiled from`, '--model', other, '--package', packageDir, '--prompt-ids', '1,2', '--dump-logits', join(dumpDir, 'x.json'));
    // The right checkpoint with that package runs.
    const ok = await dsv3c('run', '--model', base, '--package', packageDir, '--prompt-ids', '1,2', '--max-new-tokens', '2', '--dump-logits', join(dumpDir, 'ok.json'));
    expect(ok.status, ok.stderr).toBe(0);
    expect(existsSync(join(dumpDir, 'ok.json'))).toBe(true);
  });

  it('options that are missing, unknown, contradictory or out of range: each named, exit 2', async () => {
    const dumpDir = join(tmp.dir, 'dump-usage');
    mkdirSync(dumpDir);
    const dump = join(dumpDir, 'x.json');
    const cases: [string[], RegExp][] = [
      [['--prompt', 'hi'], /--model DIR is required/],
      [['--model', base], /give exactly one of --prompt TEXT or --prompt-ids 1,2,3/],
      [['--model', base, '--prompt', 'hi', '--prompt-ids', '1'], /give exactly one of --prompt TEXT or --prompt-ids/],
      [['--model', base, '--prompt-ids', '1,two,3'], /--prompt-ids 1,two,3: entry 2 "two" is not a token id; expected comma-separated non-negative whole numbers/],
      [['--model', base, '--prompt-ids', '1,100000'], /--prompt-ids: id 100000 \(position 1\) is outside the vocabulary; expected ids below vocab_size \d+/],
      [['--model', tmp.dir, '--prompt', 'hi'], /--model .*: no config\.json in it; expected a Hugging Face checkpoint folder/],
      [['--model', join(tmp.dir, 'nowhere'), '--prompt', 'hi'], /--model .*nowhere: no such folder/],
      [['--model', base, '--prompt', 'hi', '--temperature', '-1'], /--temperature -1: must be ≥ 0/],
      [['--model', base, '--prompt', 'hi', '--top-p', '1.5'], /--top-p 1\.5: must be in \(0, 1\]/],
      [['--model', base, '--prompt', 'hi', '--seed', 'x'], /--seed x: must be an integer in \[0, 2\^64\)/],
      [['--model', base, '--prompt', 'hi', '--max-new-tokens', '0'], /--max-new-tokens 0: expected a positive whole number/],
      [['--model', base, '--prompt', 'hi', '--device', 'tpu'], /--device tpu: expected one of cpu, cuda, hip/],
      [['--model', base, '--prompt', 'hi', '--act-quant', 'int4'], /--act-quant int4: expected one of fp8, none/],
      [['--model', base, '--prompt', 'hi', '--memory-budget', 'lots'], /--memory-budget lots: expected a size in bytes, e\.g\. 8GiB/],
      [['--model', base, '--prompt', 'hi', '--max-context', '1000000'], /--max-context 1000000: past the model's max_position_embeddings/],
      [['--model', base, '--prompt-ids', '1', '--chat'], /--chat renders --prompt TEXT/],
      [['--model', base, '--prompt', 'hi', '--bogus'], /unknown option '--bogus'/],
    ];
    const results = await Promise.all(cases.map(([args]) => dsv3c('run', ...args, '--dump-logits', dump)));
    results.forEach((r, i) => {
      const [args, message] = cases[i];
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(/loading weights/); // refused before any weight is read
    });
    expect(readdirSync(dumpDir)).toEqual([]);
  }, 120_000);
});
