/**
 * `compile --build`: every kernels/<instance><ext> of a package becomes a loadable binary in
 * build/ (cubin, HIP code object, or shared library), compiled in parallel and cached by
 * buildCommand's cache key (tool, flags, source) in a folder shared by all packages, so a second
 * build, or another package with the same instance, compiles nothing. Binaries land in the cache
 * through a temp file and a rename, and build/ is swapped in whole: nothing half-written.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { argv, buildCommand, buildEnv, cacheKey } from '../codegen/build.ts';
import { kernelCompiler } from '../codegen/find-tool.ts';
import { dialectFor } from './dialect-for.ts';
import { jsonText } from './json-text.ts';
import type { Plan } from './plan-format.ts';

export const BINARY_EXT: Readonly<Record<string, string>> = { cuda: '.cubin', hip: '.hsaco', cpu: '.so' };

export interface BuildProgress {
  readonly done: number;
  readonly total: number;
  readonly cached: number;
  readonly instance: string;
}

export interface BuildOptions {
  /** Parallel compiler processes (default: the CPUs we may use). */
  readonly jobs?: number;
  /** Default $DSV3C_CACHE_DIR, else $XDG_CACHE_HOME/dsv3c, else ~/.cache/dsv3c. */
  readonly cacheDir?: string;
  readonly onProgress?: (p: BuildProgress) => void;
}

export interface BuildResult {
  readonly kernels: number;
  readonly compiled: number;
  readonly cached: number;
  readonly seconds: number;
  readonly cacheDir: string;
}

export function defaultCacheDir(): string {
  return process.env.DSV3C_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'dsv3c');
}

export async function buildPackageKernels(pkgDir: string, options: BuildOptions = {}): Promise<BuildResult> {
  const started = Date.now();
  const plan = JSON.parse(readFileSync(join(pkgDir, 'plan.json'), 'utf8')) as Plan;
  const dialect = dialectFor(plan.target.target, plan.target.arch);
  const cmd = buildCommand(dialect, 'loadable', kernelCompiler(dialect.target));
  const binExt = BINARY_EXT[dialect.target];
  const cacheDir = join(options.cacheDir ?? defaultCacheDir(), 'kernels');
  mkdirSync(cacheDir, { recursive: true });

  const sources = readdirSync(join(pkgDir, 'kernels')).filter((f) => f.endsWith(dialect.ext)).sort();
  const jobs = sources.map((file) => {
    const source = join(pkgDir, 'kernels', file);
    const key = cacheKey(readFileSync(source, 'utf8'), cmd);
    return { instance: file.slice(0, -dialect.ext.length), source, key, binary: join(cacheDir, key + binExt) };
  });
  let done = 0;
  let cached = 0;
  const report = (instance: string) => options.onProgress?.({ done, total: jobs.length, cached, instance });
  await pool(jobs, options.jobs ?? availableParallelism(), async (job) => {
    if (existsSync(job.binary)) cached++;
    else await compileOne(cmd, job.source, job.binary);
    done++;
    report(job.instance);
  });

  // Swap in a complete build/: copies of the cached binaries plus what they were built with.
  const staging = join(pkgDir, `.build.${process.pid}.tmp`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  for (const j of jobs) copyFileSync(j.binary, join(staging, j.instance + binExt));
  const record = { tool: cmd.tool, flags: cmd.flags, binaries: Object.fromEntries(jobs.map((j) => [j.instance + binExt, j.key])) };
  writeFileSync(join(staging, 'build.json'), jsonText(record));
  const old = join(pkgDir, `.build.${process.pid}.old`);
  if (existsSync(join(pkgDir, 'build'))) renameSync(join(pkgDir, 'build'), old);
  renameSync(staging, join(pkgDir, 'build'));
  rmSync(old, { recursive: true, force: true });
  return { kernels: jobs.length, compiled: jobs.length - cached, cached, seconds: (Date.now() - started) / 1000, cacheDir };
}

/**
 * One compiler run into a temp file renamed into the cache; the compiler's output is the error.
 * The compiler reads a short-named copy of the source: nvcc names its own temp files after the
 * source, and an instance name (every constant in it) can pass the 255-byte file-name limit.
 */
function compileOne(cmd: ReturnType<typeof buildCommand>, source: string, binary: string): Promise<void> {
  const tag = `${process.pid}.${Math.random().toString(36).slice(2)}`;
  const temp = `${binary}.${tag}.tmp`;
  const copy = join(dirname(binary), `src-${basename(binary).slice(0, 16)}.${tag}${extname(source)}`);
  copyFileSync(source, copy);
  return new Promise((resolve, reject) => {
    execFile(cmd.tool, argv(cmd, copy, temp), { env: buildEnv(cmd), maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      rmSync(copy, { force: true });
      if (error) {
        rmSync(temp, { force: true });
        reject(new Error(`${cmd.tool} failed on ${source}:\n${`${stdout}${stderr}`.trim() || error.message}`));
        return;
      }
      renameSync(temp, binary);
      resolve();
    });
  });
}

/** Runs `work` over `items` with at most `limit` in flight; the first failure rejects after the others settle. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (errors.length > 0) throw errors[0];
}
