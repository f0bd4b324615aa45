/**
 * How long `dsv3c compile --target cuda` takes for DeepSeek-V3, stage by stage: config → model
 * graph → passes → schedule, per phase, then the generated package (kernel instances, plan.json,
 * manifest.json, index.ts, kernel sources: everything but the disk write). Median of several runs
 * after one warm-up, in process; plus the wall time of the whole CLI (Node start, TypeScript
 * loading and the write included). Prints JSON; with --save writes it under benchmarks/results/
 * with machine, date and commit.
 *
 *   npx tsx benchmarks/compile-time.ts [--runs 5] [--save]
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { loadConfig } from '../compiler/config/parse-config.ts';
import { buildModel } from '../compiler/model/build-model.ts';
import { runPipeline } from '../compiler/passes/pipeline.ts';
import { schedule } from '../compiler/passes/schedule.ts';
import { PHASES } from '../compiler/compile-model.ts';
import type { CompiledPhase } from '../compiler/compile-model.ts';
import { dialectFor } from '../compiler/package/dialect-for.ts';
import { generatePackage } from '../compiler/package/generate-package.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time<T>(f: () => T): [T, number] {
  const t = performance.now();
  const r = f();
  return [r, performance.now() - t];
}

const samples: Record<string, number[]> = {};
const record = (k: string, ms: number) => (samples[k] ??= []).push(ms);
for (let i = 0; i <= runs; i++) {
  const [config, tConfig] = time(() => loadConfig('configs/deepseek-v3.json'));
  let total = tConfig;
  const phases: CompiledPhase[] = [];
  for (const phase of PHASES) {
    const [model, tModel] = time(() => buildModel(config, phase));
    const [run, tPasses] = time(() => runPipeline(model, config));
    const [sched, tSchedule] = time(() => schedule(run.graph));
    phases.push({ phase, model, run, schedule: sched });
    total += tModel + tPasses + tSchedule;
    if (i > 0) {
      record(`${phase}.model`, tModel);
      record(`${phase}.passes`, tPasses);
      record(`${phase}.schedule`, tSchedule);
    }
  }
  const [, tPackage] = time(() => generatePackage(config, phases, { model: 'deepseek-v3', dialect: dialectFor('cuda'), actQuant: 'fp8', disabledPasses: [] }));
  if (i > 0) {
    record('package', tPackage);
    record('total', total + tPackage);
  }
}

// The whole command as users run it, writing the package to a temp folder.
const out = join(mkdtempSync(join(tmpdir(), 'dsv3c-bench-')), 'pkg');
const cli: number[] = [];
for (let i = 0; i < Math.min(runs, 3); i++) {
  const t = performance.now();
  execSync(`node bin/dsv3c.js compile --config configs/deepseek-v3.json --target cuda --out ${out}`, { stdio: 'ignore' });
  cli.push(performance.now() - t);
}
samples.cliWall = cli;

const commit = execSync('git rev-parse --short HEAD').toString().trim();
const result = {
  benchmark: 'compile-time',
  config: 'configs/deepseek-v3.json',
  what: 'config → graph → passes (verifier after each) → schedule, both phases, then the cuda package in memory (total); cliWall: the whole `dsv3c compile --target cuda` process; milliseconds, median',
  runs,
  medianMs: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Number(median(v).toFixed(1))])),
  machine: { host: hostname(), cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  date: new Date().toISOString().slice(0, 10),
  commit,
};
console.log(JSON.stringify(result, null, 2));
if (args.includes('--save')) {
  mkdirSync('benchmarks/results', { recursive: true });
  writeFileSync(`benchmarks/results/compile-time-${result.date}-${commit}.json`, `${JSON.stringify(result, null, 2)}\n`);
}
