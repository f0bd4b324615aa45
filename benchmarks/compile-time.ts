/**
 * How long `dsv3c compile` takes for DeepSeek-V3, stage by stage: config → model graph → passes →
 * schedule, per phase. Median of several runs after one warm-up; prints JSON, and with --save
 * writes it under benchmarks/results/ with machine, date and commit.
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
  for (const phase of PHASES) {
    const [model, tModel] = time(() => buildModel(config, phase));
    const [run, tPasses] = time(() => runPipeline(model, config));
    const [, tSchedule] = time(() => schedule(run.graph));
    total += tModel + tPasses + tSchedule;
    if (i > 0) {
      record(`${phase}.model`, tModel);
      record(`${phase}.passes`, tPasses);
      record(`${phase}.schedule`, tSchedule);
    }
  }
  if (i > 0) record('total', total);
}

const commit = execSync('git rev-parse --short HEAD').toString().trim();
const result = {
  benchmark: 'compile-time',
  config: 'configs/deepseek-v3.json',
  what: 'config → graph → passes (verifier after each, as compile runs them) → schedule, both phases; milliseconds, median',
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
