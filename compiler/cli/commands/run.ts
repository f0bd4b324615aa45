/**
 * `dsv3c run`: generate from a checkpoint. Without --package the package is the cached one for
 * the checkpoint's config (compiled and built on first use, see compiler/package/cached-package.ts).
 * Tokens go to stdout as they come; the package and loading progress and a final stats line go to
 * stderr. Every option is checked, and the prompt measured against the context, before a byte of
 * weights is read; --dump-logits writes its file (through a temp file and a rename) only once the
 * generation has finished.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CommanderError } from 'commander';
import type { TargetKind } from '../../codegen/dialect.ts';
import type { Mesh } from '../../config/mesh.ts';
import { formatMesh, MeshError, parseMesh, validateCompileMesh } from '../../config/mesh.ts';
import type { ModelConfig } from '../../config/model-config.ts';
import { loadConfig } from '../../config/parse-config.ts';
import { packageForRun } from '../../package/cached-package.ts';
import { poolOf } from '../../../runtime/src/exec/kv-pages.ts';
import { MemoryBudgetError, loadModel } from '../../../runtime/src/load-model.ts';
import { NativeAddonError, probeInChildProcess } from '../../../runtime/src/native/load-addon.ts';
import type { ProgressStream } from '../../../runtime/src/progress-bar.ts';
import { ProgressBar } from '../../../runtime/src/progress-bar.ts';
import type { SamplingOptions, SamplingParams } from '../../../runtime/src/sampling/sampling-params.ts';
import { generationDefaults, SamplingParamsError, samplingParams } from '../../../runtime/src/sampling/sampling-params.ts';
import type { ModelSession } from '../../../runtime/src/session.ts';
import { encodePrompt } from '../../../runtime/src/session.ts';
import { GENERATION_CONFIG_FILE, loadTokenizer } from '../../../runtime/src/tokenizer/index.ts';
import { UsageError } from '../usage-error.ts';
import { writeFileAtomic } from '../write-atomic.ts';

export interface RunFlags {
  model?: string;
  package?: string;
  prompt?: string;
  promptIds?: string;
  chat?: boolean;
  maxNewTokens: string;
  temperature?: string;
  topP?: string;
  seed?: string;
  device?: string;
  actQuant?: string;
  dumpLogits?: string;
  maxContext?: string;
  maxBatch: string;
  kvPageSize?: string;
  kvPositions?: string;
  memoryBudget?: string;
  mesh?: string;
}

/** An environment problem `run` can explain (no native addon, no GPU): printed without a stack. */
class RunEnvironmentError extends Error {
  readonly userFacing = true;
}

const DEVICES: readonly TargetKind[] = ['cpu', 'cuda', 'hip'];

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Generate tokens from a checkpoint (compiling and caching its package on first use)')
    .option('--model <dir>', 'the checkpoint folder (config.json, safetensors shards, tokenizer.json)')
    .option('--package <dir>', 'a package built by dsv3c compile --target … --build (default: the cached package for the config, built on first use)')
    .option('--prompt <text>', 'the prompt text (encoded with the checkpoint tokenizer, one BOS first)')
    .option('--prompt-ids <ids>', 'the prompt as token ids, comma-separated: 1,2,3')
    .option('--chat', 'render --prompt as one user message through the chat template, generation prompt added')
    .option('--max-new-tokens <n>', 'tokens to generate at most (fewer at a stop token or the end of the context)', '64')
    .option('--temperature <t>', '0 is greedy (default: generation_config.json, else 0)')
    .option('--top-p <p>', 'nucleus sampling, in (0, 1] (default: generation_config.json, else 1)')
    .option('--seed <s>', 'sampling seed, an integer in [0, 2^64) (default: random, printed with the stats)')
    .option('--device <cpu|cuda|hip>', 'where to run; without --package also the target compiled for (default cpu, or the package target)')
    .option('--act-quant <fp8|none>', 'without --package: fp8 (W8A8, default) or none (W8A16)')
    .option('--dump-logits <file.json>', 'write the logits of every prompt position and generated token as JSON')
    .option('--max-context <n>', 'positions per sequence, prompt plus generated (default min(max_position_embeddings, 4096))')
    .option('--max-batch <n>', 'sequences the KV cache holds', '1')
    .option('--kv-page-size <n>', 'positions per KV cache page (default 64)')
    .option('--kv-positions <n>', 'positions the paged KV cache holds, all sequences together (default --max-batch × --max-context)')
    .option('--memory-budget <bytes>', 'bytes the model may use on the device, e.g. 8GiB, 512MiB or 1000000 (default: the device memory)')
    .option('--mesh <tp=N,ep=M>', 'without --package: compile for a mesh of N·M ranks (tensor and expert parallel) and run them in this process (cpu target only)')
    .exitOverride((e) => {
      // Commander's own errors (unknown or incomplete options) are usage errors: exit 2 like ours.
      throw e.exitCode === 1 ? new CommanderError(2, e.code, e.message) : e;
    })
    .action(async (flags: RunFlags) => {
      await runModel(flags);
    });
}

/** Everything `run` needs, checked; no file is read but the config (and tokenizer for a text prompt). */
interface RunPlan {
  readonly modelDir: string;
  readonly config: ModelConfig;
  readonly device?: TargetKind;
  readonly actQuant?: 'fp8' | 'none';
  readonly mesh?: Mesh;
  readonly promptIds: readonly number[];
  readonly maxNewTokens: number;
  readonly maxContext: number;
  readonly maxBatch: number;
  readonly kvPageSize?: number;
  readonly kvPositions?: number;
  readonly memoryBudgetBytes?: number;
  readonly sampling: SamplingParams;
}

export async function runModel(flags: RunFlags, stdout: ProgressStream = process.stdout, stderr: ProgressStream = process.stderr): Promise<void> {
  const plan = checkFlags(flags);
  if (plan.device === 'cuda' || plan.device === 'hip') await checkDeviceAvailable(plan.device);

  let packageDir: string;
  if (flags.package !== undefined) {
    packageDir = flags.package;
    if (plan.actQuant !== undefined) checkPackageActQuant(packageDir, plan.actQuant);
    if (plan.mesh !== undefined) throw new UsageError(`--mesh ${flags.mesh}: a package's mesh is the one it was compiled with (dsv3c compile --mesh); leave --mesh out with --package`);
  } else {
    let bar: ProgressBar | null = null;
    const started = Date.now();
    const pkg = await packageForRun(plan.config, {
      target: plan.device ?? 'cpu',
      actQuant: plan.actQuant ?? 'fp8',
      mesh: plan.mesh,
      model: basename(resolve(plan.modelDir)),
      onCompile: (dir, d) => stderr.write(`compiling ${basename(resolve(plan.modelDir))} for ${d.target} ${d.arch} (${plan.actQuant ?? 'fp8'}${plan.mesh ? `, ${formatMesh(plan.mesh)}` : ''}) into ${dir}\n`),
      onBuildProgress: (p) => {
        bar ??= new ProgressBar({ label: 'building kernels', total: p.total, unit: 'items', stream: stderr });
        bar.update(p.done, p.instance);
      },
    });
    (bar as ProgressBar | null)?.finish('');
    packageDir = pkg.dir;
    if (pkg.build) {
      const b = pkg.build;
      stderr.write(`built ${b.kernels} kernels in ${((Date.now() - started) / 1000).toFixed(1)} s: ${b.compiled} compiled, ${b.cached} from the kernel cache\n`);
    } else {
      stderr.write(`package: ${pkg.dir} (cached)\n`);
    }
  }

  let session: ModelSession;
  try {
    session = await loadModel(packageDir, plan.modelDir, {
      device: plan.device,
      maxContext: plan.maxContext,
      maxBatch: plan.maxBatch,
      kvPageSize: plan.kvPageSize,
      kvPositions: plan.kvPositions,
      memoryBudgetBytes: plan.memoryBudgetBytes,
      progress: stderr,
    });
  } catch (e) {
    if (e instanceof MemoryBudgetError) {
      const message = `${e.shortfall}; lower --max-batch, --max-context or --kv-positions, or shard it over more GPUs`;
      throw new UsageError(flags.memoryBudget === undefined ? message : `--memory-budget ${flags.memoryBudget}: ${message}`);
    }
    if (e instanceof NativeAddonError) throw new RunEnvironmentError(e.message);
    throw e;
  }

  try {
    const dump = flags.dumpLogits === undefined ? null : { prompt: [] as Float32Array[], generated: [] as Float32Array[] };
    const generatedIds: number[] = [];
    const textOut = session.tokenizer !== null;
    const t0 = Date.now();
    let tFirst = t0;
    let tLast = t0;
    let finish = '';
    // One sequence: a KV pool smaller than the context ends the generation where the pool does.
    const poolRoom = poolOf({ maxBatch: 1, maxContext: plan.maxContext, kvPageSize: plan.kvPageSize, kvPositions: plan.kvPositions }).rows - plan.promptIds.length + 1;
    const maxNewTokens = Math.min(plan.maxNewTokens, poolRoom);
    for await (const token of session.generate(plan.promptIds, {
      maxNewTokens,
      temperature: plan.sampling.temperature,
      topP: plan.sampling.topP,
      seed: plan.sampling.seed,
      ...(dump ? { onLogits: (_s: number, kind: 'prompt' | 'generated', row: Float32Array) => dump[kind].push(row) } : {}),
    })) {
      tLast = Date.now();
      if (token.index === 0) tFirst = tLast;
      generatedIds.push(token.id);
      stdout.write(textOut ? token.text : `${token.index === 0 ? '' : ' '}${token.id}`);
      if (token.finishReason) {
        const limit = generatedIds.length >= plan.maxNewTokens ? '--max-new-tokens' : generatedIds.length >= poolRoom ? 'the end of the KV pool (--kv-positions)' : 'the end of the context';
        finish = token.finishReason === 'stop' ? 'a stop token' : limit;
      }
    }
    stdout.write('\n');

    if (dump && flags.dumpLogits !== undefined) {
      const bytes = logitsJson(plan.promptIds, dump.prompt, generatedIds, dump.generated);
      try {
        mkdirSync(dirname(resolve(flags.dumpLogits)), { recursive: true });
        writeFileAtomic(flags.dumpLogits, bytes);
      } catch (e) {
        throw new RunEnvironmentError(`--dump-logits ${flags.dumpLogits}: cannot write it: ${(e as Error).message}`);
      }
    }
    const decoded = generatedIds.length - 1;
    const rate = decoded > 0 && tLast > tFirst ? `${((decoded * 1000) / (tLast - tFirst)).toFixed(1)} tokens/s` : 'n/a';
    const seed = plan.sampling.greedy ? 'greedy' : `temperature ${plan.sampling.temperature}, top-p ${plan.sampling.topP}, seed ${plan.sampling.seed}`;
    stderr.write(
      `${plan.promptIds.length} prompt tokens, ${generatedIds.length} generated tokens (stopped at ${finish}); ` +
        `prefill ${((tFirst - t0) / 1000).toFixed(2)} s, decode ${rate} on ${session.device.name}${rankNote(session.executor.mesh)}; ${seed}\n`,
    );
  } finally {
    session.dispose();
  }
}

function checkFlags(flags: RunFlags): RunPlan {
  if (flags.model === undefined) throw new UsageError('--model DIR is required: the checkpoint folder to run');
  if ((flags.prompt === undefined) === (flags.promptIds === undefined)) throw new UsageError('give exactly one of --prompt TEXT or --prompt-ids 1,2,3');
  if (flags.chat && flags.prompt === undefined) throw new UsageError('--chat renders --prompt TEXT through the chat template; it does not apply to --prompt-ids');
  const device = flags.device === undefined ? undefined : oneOf('--device', flags.device, DEVICES);
  const actQuant = flags.actQuant === undefined ? undefined : oneOf('--act-quant', flags.actQuant, ['fp8', 'none'] as const);
  const maxNewTokens = wholeNumber('--max-new-tokens', flags.maxNewTokens);
  const maxBatch = wholeNumber('--max-batch', flags.maxBatch);
  const kvPageSize = flags.kvPageSize === undefined ? undefined : wholeNumber('--kv-page-size', flags.kvPageSize);
  const kvPositions = flags.kvPositions === undefined ? undefined : wholeNumber('--kv-positions', flags.kvPositions);
  const memoryBudgetBytes = flags.memoryBudget === undefined ? undefined : parseBytes(flags.memoryBudget);
  const mesh = flags.mesh === undefined ? undefined : meshOf(flags.mesh);
  if (mesh && mesh.tp * mesh.ep > 1 && device !== undefined && device !== 'cpu') throw new UsageError(`--mesh ${flags.mesh}: a mesh runs as ranks in this process on the cpu target only so far; multi-GPU execution is not built yet`);
  const givenIds = flags.promptIds === undefined ? null : parseIds(flags.promptIds);
  if (flags.dumpLogits !== undefined && existsSync(flags.dumpLogits) && statSync(flags.dumpLogits).isDirectory()) {
    throw new UsageError(`--dump-logits ${flags.dumpLogits}: is a folder; expected a file name`);
  }

  const modelDir = flags.model;
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) throw new UsageError(`--model ${modelDir}: no such folder; expected a checkpoint folder (config.json, safetensors shards, tokenizer.json)`);
  const configFile = join(modelDir, 'config.json');
  if (!existsSync(configFile)) throw new UsageError(`--model ${modelDir}: no config.json in it; expected a Hugging Face checkpoint folder (config.json, safetensors shards, tokenizer.json)`);
  const config = loadConfig(configFile);
  if (mesh) {
    try {
      validateCompileMesh(config, mesh);
    } catch (e) {
      if (e instanceof MeshError) throw new UsageError(`--mesh ${flags.mesh}: ${e.message}`);
      throw e;
    }
  }

  const contextDefault = Math.min(config.maxPositionEmbeddings, 4096);
  const maxContext = flags.maxContext === undefined ? contextDefault : wholeNumber('--max-context', flags.maxContext);
  if (maxContext > config.maxPositionEmbeddings) throw new UsageError(`--max-context ${maxContext}: past the model's max_position_embeddings (${config.maxPositionEmbeddings})`);

  const sampling = samplingOf(flags, modelDir);

  let promptIds: number[];
  if (givenIds !== null) {
    const bad = givenIds.findIndex((id) => id >= config.vocabSize);
    if (bad >= 0) throw new UsageError(`--prompt-ids: id ${givenIds[bad]} (position ${bad}) is outside the vocabulary; expected ids below vocab_size ${config.vocabSize}`);
    promptIds = givenIds;
  } else {
    promptIds = encodePrompt(loadTokenizer(modelDir), flags.prompt!, flags.chat);
    if (promptIds.length === 0) throw new UsageError('--prompt: the prompt encodes to no tokens');
  }
  if (promptIds.length >= maxContext) {
    const context = flags.maxContext === undefined ? `the context (${maxContext} positions; raise it with --max-context)` : `--max-context ${maxContext}`;
    throw new UsageError(`the prompt has ${promptIds.length} tokens and ${context} leaves no room to generate; expected at most ${maxContext - 1} prompt tokens`);
  }
  if (kvPositions !== undefined && kvPositions <= promptIds.length) {
    throw new UsageError(`--kv-positions ${kvPositions}: the KV cache must hold the prompt (${promptIds.length} tokens) and one more; expected at least ${promptIds.length + 1}`);
  }
  return { modelDir, config, device, actQuant, mesh, promptIds, maxNewTokens, maxContext, maxBatch, kvPageSize, kvPositions, memoryBudgetBytes, sampling };
}

/** The flags over generation_config.json's defaults, checked; a flag's error names the flag. */
function samplingOf(flags: RunFlags, modelDir: string): SamplingParams {
  let defaults: SamplingOptions = {};
  const file = join(modelDir, GENERATION_CONFIG_FILE);
  if (existsSync(file)) {
    try {
      const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (typeof json === 'object' && json !== null && !Array.isArray(json)) defaults = generationDefaults(json as Record<string, unknown>);
    } catch {
      // A malformed generation_config.json is the tokenizer's to report (a text prompt loads it).
    }
  }
  try {
    return samplingParams({ temperature: flags.temperature, topP: flags.topP, seed: flags.seed }, { temperature: 0, topP: 1, ...defaults });
  } catch (e) {
    if (!(e instanceof SamplingParamsError)) throw e;
    const flag = { temperature: '--temperature', top_p: '--top-p', seed: '--seed' }[e.option];
    const given = { temperature: flags.temperature, top_p: flags.topP, seed: flags.seed }[e.option];
    const problem = e.message.replace(/^sampling option \w+: /, '');
    throw new UsageError(given === undefined ? `${file}: ${e.option} ${problem}` : `${flag} ${given}: ${problem}`);
  }
}

async function checkDeviceAvailable(kind: 'cuda' | 'hip'): Promise<void> {
  let probe;
  try {
    probe = await probeInChildProcess();
  } catch (e) {
    throw new RunEnvironmentError(`--device ${kind}: cannot probe the GPUs: ${(e as Error).message}`);
  }
  const backend = probe[kind];
  if (!backend.available) throw new RunEnvironmentError(`--device ${kind}: no usable ${kind} device (${backend.error ?? 'unavailable'}); run with --device cpu`);
}

function checkPackageActQuant(packageDir: string, actQuant: 'fp8' | 'none'): void {
  let compiled: unknown;
  try {
    compiled = (JSON.parse(readFileSync(join(packageDir, 'plan.json'), 'utf8')) as { actQuant?: unknown }).actQuant;
  } catch {
    return; // loadModel names what is wrong with the package
  }
  if (compiled !== actQuant) throw new UsageError(`--act-quant ${actQuant}: ${packageDir} was compiled with --act-quant ${String(compiled)}; leave --act-quant out or compile another package`);
}

/** " × 4 ranks (tp=2,ep=2)" on a mesh, else nothing. */
function rankNote(mesh: Mesh): string {
  const world = mesh.tp * mesh.ep;
  return world > 1 ? ` × ${world} ranks (${formatMesh(mesh)})` : '';
}

function meshOf(text: string): Mesh {
  try {
    return parseMesh(text);
  } catch (e) {
    if (e instanceof MeshError) throw new UsageError(`--mesh ${text}: ${e.message}; expected tp=N,ep=M`);
    throw e;
  }
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} ${value}: expected one of ${allowed.join(', ')}`);
  return value as T;
}

function wholeNumber(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} ${text}: expected a positive whole number`);
  return n;
}

/** "1,2,3" (spaces allowed) to ids; every entry a non-negative whole number. */
export function parseIds(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 1 && parts[0] === '') throw new UsageError('--prompt-ids: empty; expected comma-separated token ids, e.g. 1,2,3');
  return parts.map((p, i) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(n)) throw new UsageError(`--prompt-ids ${text}: entry ${i + 1} ${JSON.stringify(p)} is not a token id; expected comma-separated non-negative whole numbers, e.g. 1,2,3`);
    return n;
  });
}

const UNITS: Readonly<Record<string, number>> = {
  '': 1, b: 1,
  k: 2 ** 10, kib: 2 ** 10, kb: 1e3,
  m: 2 ** 20, mib: 2 ** 20, mb: 1e6,
  g: 2 ** 30, gib: 2 ** 30, gb: 1e9,
  t: 2 ** 40, tib: 2 ** 40, tb: 1e12,
};

/** "8GiB", "512 MiB", "1.5G" (binary), "8GB" (decimal) or plain bytes. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new UsageError(`--memory-budget ${text}: expected a size in bytes, e.g. 8GiB, 512MiB, 8GB or 1000000`);
  return bytes;
}

/** The --dump-logits file, built row by row as bytes (a large vocab × many rows outgrows one string). */
function logitsJson(promptIds: readonly number[], prompt: readonly Float32Array[], generatedIds: readonly number[], generated: readonly Float32Array[]): Uint8Array {
  const parts: Buffer[] = [];
  const text = (s: string) => parts.push(Buffer.from(s, 'utf8'));
  const rows = (list: readonly Float32Array[]) => {
    text('[');
    list.forEach((row, i) => {
      let line = i === 0 ? '\n  [' : ',\n  [';
      for (let j = 0; j < row.length; j++) {
        const v = row[j];
        line += (j === 0 ? '' : ',') + (Number.isFinite(v) ? String(v) : 'null');
      }
      text(`${line}]`);
    });
    text(list.length > 0 ? '\n ]' : ']');
  };
  text(`{\n "prompt_ids": ${JSON.stringify(promptIds)},\n "prompt_logits": `);
  rows(prompt);
  text(`,\n "generated_ids": ${JSON.stringify(generatedIds)},\n "generated_logits": `);
  rows(generated);
  text('\n}\n');
  return Buffer.concat(parts);
}
