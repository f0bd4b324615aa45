/**
 * How long `dsv3c compile --target cuda` takes for DeepSeek-V3:
 * - cliMs: the whole command as users run it (Node start, the CLI bundle, compile, package
 *   written to a temp folder), wall time, with a config compiled before (index.ts from the
 *   bundle's cache, no ts-morph: compiler/package/index-cache.ts);
 * - cliFirstMs: the same with the index.ts cache emptied before each run, as the first compile of
 *   a config (index.ts written on the worker thread; ts-morph's code cache, made by the install, kept);
 * - coldMs: each stage on its first call in a fresh process (what the command pays): config, the
 *   compile (model graph → passes → schedule, both phases), the package (kernel instances,
 *   plan.json, manifest.json, kernel sources) and, apart, index.ts (ts-morph; the CLI writes it
 *   on a worker thread while it compiles);
 * - warmMs: the same stages in one process after a warm-up (the compiler's own speed).
 * Medians; prints JSON; with --save writes it under benchmarks/results/ with machine, date and commit.
 *
 *   npx tsx benchmarks/compile-time.ts [--runs 5] [--save]
 */
import { execFileSync, execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileModel } from '../compiler/compile-model.ts';
import { loadConfig } from '../compiler/config/parse-config.ts';
import { dialectFor } from '../compiler/package/dialect-for.ts';
import { generatePackageWithoutIndex, indexFacts } from '../compiler/package/generate-package.ts';
import { indexSource } from '../compiler/package/index-source.ts';

const CONFIG = 'configs/deepseek-v3.json';
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;

type Stages = Record<string, number>;

/** Every stage once, timed: the compile of one config to an in-memory cuda package. */
function stages(): Stages {
  const t: Stages = {};
  const time = <T>(key: string, f: () => T): T => {
    const start = performance.now();
    const result = f();
    t[key] = performance.now() - start;
    return result;
  };
  const config = time('config', () => loadConfig(CONFIG));
  const phases = time('compile', () => compileModel(config, { actQuant: 'fp8', disabledPasses: [] }));
  const options = { model: 'deepseek-v3', dialect: dialectFor('cuda'), actQuant: 'fp8', disabledPasses: [] } as const;
  time('package', () => generatePackageWithoutIndex(config, phases, options));
  time('index.ts', () => indexSource(indexFacts(config, options)));
  t.total = Object.values(t).reduce((a, b) => a + b, 0);
  return t;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.floor(s.length / 2)].toFixed(1));
}

function medians(samples: readonly Stages[]): Stages {
  return Object.fromEntries(Object.keys(samples[0]).map((k) => [k, median(samples.map((x) => x[k]))]));
}

if (args.includes('--stages-once')) {
  // The child of a cold measurement: print one fresh process's stage times.
  console.log(JSON.stringify(stages()));
  process.exit(0);
}

// The whole command; one untimed run first, which also rebuilds the CLI bundle if a source changed.
const out = join(mkdtempSync(join(tmpdir(), 'dsv3c-bench-')), 'pkg');
const cli = () => execFileSync(process.execPath, ['bin/dsv3c.js', 'compile', '--config', CONFIG, '--target', 'cuda', '--out', out], { stdio: 'ignore' });
cli();
const timed = (before = () => {}): number[] =>
  Array.from({ length: runs }, () => {
    before();
    const start = performance.now();
    cli();
    return performance.now() - start;
  });
const cliMs = timed();
const cacheDir = join('dist', 'cli', 'code-cache');
const cliFirstMs = timed(() => readdirSync(cacheDir).filter((f) => f.startsWith('index-')).forEach((f) => rmSync(join(cacheDir, f))));
cli(); // leaves the caches filled

const cold: Stages[] = [];
for (let i = 0; i < runs; i++) {
  const child = execFileSync(process.execPath, ['--import', 'tsx', 'benchmarks/compile-time.ts', '--stages-once'], { encoding: 'utf8' });
  cold.push(JSON.parse(child) as Stages);
}

const warm: Stages[] = [];
stages(); // warm-up
for (let i = 0; i < runs; i++) warm.push(stages());

const commit = execSync('git rev-parse --short HEAD').toString().trim();
const result = {
  benchmark: 'compile-time',
  config: CONFIG,
  what: 'dsv3c compile --target cuda of DeepSeek-V3 (both phases, package written): cliMs the whole command (a config compiled before); cliFirstMs the same for a config not compiled before (index.ts cache emptied); coldMs each stage first time in a fresh process (from the sources, through tsx); warmMs after a warm-up; milliseconds, median',
  runs,
  cliMs: { median: median(cliMs), samples: cliMs.map((v) => Math.round(v)) },
  cliFirstMs: { median: median(cliFirstMs), samples: cliFirstMs.map((v) => Math.round(v)) },
  coldMs: medians(cold),
  warmMs: medians(warm),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  date: new Date().toISOString().slice(0, 10),
  commit,
};
console.log(JSON.stringify(result, null, 2));
if (args.includes('--save')) {
  mkdirSync('benchmarks/results', { recursive: true });
  writeFileSync(`benchmarks/results/compile-time-${result.date}-${commit}.json`, `${JSON.stringify(result, null, 2)}\n`);
}
