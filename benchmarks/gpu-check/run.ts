/**
 * `gpu-check`: every GPU test and benchmark of dsv3c from the bundle scripts/gpu-bundle.sh makes,
 * building nothing: (a) kernels, (b) e2e, (c) timing, (d) graphs, (e) sanitizer (layout.ts
 * CHECKS). Results: one JSON file per run under --out (default $OUT, else ./gpu-results) with the
 * device, date, commit and each check's figures, rewritten after every check. Without a CUDA
 * device it says so and exits 0.
 *
 *   /tmp/node .gpu/dsv3c.mjs gpu-check [--out DIR] [--only kernels,e2e,timing,graphs,sanitizer]
 *       [--skip …] [--configs tiny-moe-128,…] [--seeds 2] [--timing-modes fp8,none] [--runs 20]
 *       [--timing-budget 300] [--sanitizer-timeout 240] [--bundle DIR] [--list]
 *
 * Exit status: 0 when every check run passed or measured (or there is no CUDA device), 1 when
 * one failed or errored, 2 for bad options or a missing bundle.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { GpuProbe } from '../../runtime/src/native/addon-types.ts';
import { loadAddon, probeInChildProcess } from '../../runtime/src/native/load-addon.ts';
import { checkE2e } from './check-e2e.ts';
import { checkGraphs } from './check-graphs.ts';
import { checkKernels } from './check-kernels.ts';
import { checkSanitizer } from './check-sanitizer.ts';
import { checkTiming } from './check-timing.ts';
import { Gpu, readBundle } from './cuda.ts';
import type { CheckId, Mode } from './layout.ts';
import { CHECKS, MODES, RESULTS_FORMAT, selectChecks, TIMED_MODES } from './layout.ts';
import type { CheckResult } from './results.ts';
import { Results } from './results.ts';

export interface GpuCheckOptions {
  readonly out: string;
  readonly bundle: string;
  readonly checks: CheckId[];
  /** Tiny configs for kernels, e2e and the sanitizer (default: all in the bundle). */
  readonly configs: string[] | null;
  readonly seeds: number;
  readonly timingModes: Mode[];
  readonly runs: number;
  readonly timingBudget: number;
  readonly sanitizerTimeout: number;
  readonly list: boolean;
}

export class OptionError extends Error {}

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

/** Options from argv (after `gpu-check`); relative paths resolve against `cwd`. */
export function parseOptions(argv: readonly string[], cwd = process.env.DSV3C_GPU_CHECK_CWD ?? process.cwd(), env: NodeJS.ProcessEnv = process.env): GpuCheckOptions {
  const flags = new Map<string, string>();
  const bare = new Set(['--list']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (bare.has(a)) flags.set(a, '');
    else if (a.startsWith('--') && i + 1 < argv.length) flags.set(a, argv[++i]);
    else throw new OptionError(`gpu-check: unexpected argument ${a} (options: --out --only --skip --configs --seeds --timing-modes --runs --timing-budget --sanitizer-timeout --bundle --list)`);
  }
  const known = ['--out', '--only', '--skip', '--configs', '--seeds', '--timing-modes', '--runs', '--timing-budget', '--sanitizer-timeout', '--bundle', '--list'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new OptionError(`gpu-check: unknown option ${k}`);
  const num = (k: string, d: number) => {
    const v = flags.has(k) ? Number(flags.get(k)) : d;
    if (!Number.isFinite(v) || v <= 0) throw new OptionError(`gpu-check: ${k} ${flags.get(k)}: expected a positive number`);
    return v;
  };
  let checks: CheckId[];
  try {
    checks = selectChecks(flags.has('--only') ? list(flags.get('--only')!) : undefined, flags.has('--skip') ? list(flags.get('--skip')!) : []);
  } catch (e) {
    throw new OptionError(`gpu-check: ${(e as Error).message}`);
  }
  const timingModes = flags.has('--timing-modes') ? list(flags.get('--timing-modes')!) : [...TIMED_MODES];
  for (const m of timingModes) if (!(MODES as readonly string[]).includes(m)) throw new OptionError(`gpu-check: --timing-modes ${m}: expected fp8 or none`);
  return {
    out: resolve(cwd, flags.get('--out') ?? env.OUT ?? 'gpu-results'),
    bundle: resolve(cwd, flags.get('--bundle') ?? env.DSV3C_GPU_BUNDLE ?? '.gpu'),
    checks,
    configs: flags.has('--configs') ? list(flags.get('--configs')!) : null,
    seeds: num('--seeds', 2),
    timingModes: timingModes as Mode[],
    runs: num('--runs', 20),
    timingBudget: num('--timing-budget', 300),
    sanitizerTimeout: num('--sanitizer-timeout', 240),
    list: flags.has('--list'),
  };
}

/** The bundled entry (.gpu/dsv3c.mjs) when this process runs it, for the sanitizer's child. */
function bundledEntry(): string | null {
  const entry = process.argv[1];
  return entry && /\.mjs$/.test(entry) && existsSync(join(dirname(entry), 'bundle.json')) ? entry : null;
}

/** Whether a probe found a device these sm_90a cubins run on; the reason when not. */
export function deviceProblem(cuda: GpuProbe): string | null {
  if (!cuda.available || !cuda.devices?.length) return `no CUDA device: ${cuda.error ?? 'probe found none'}`;
  const cc = cuda.devices[0].computeCapability;
  return cc === '9.0' ? null : `CUDA device ${cuda.devices[0].name} has compute capability ${cc}; the bundle's cubins are sm_90a (9.0)`;
}

export async function gpuCheck(argv: readonly string[], log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  let options: GpuCheckOptions;
  try {
    options = parseOptions(argv);
  } catch (e) {
    if (!(e instanceof OptionError)) throw e;
    log(e.message);
    return 2;
  }
  if (!existsSync(join(options.bundle, 'bundle.json'))) {
    log(`gpu-check: no bundle at ${options.bundle} (bundle.json missing): make it with \`bash scripts/gpu-bundle.sh\``);
    return 2;
  }
  const bundle = readBundle(options.bundle);
  const configs = options.configs ?? bundle.plan.checkpoints.map((c) => c.config);
  for (const c of configs) if (!bundle.plan.checkpoints.some((k) => k.config === c)) {
    log(`gpu-check: --configs ${c}: not in the bundle (${bundle.plan.checkpoints.map((k) => k.config).join(', ')})`);
    return 2;
  }
  if (options.list) {
    process.stdout.write(`${JSON.stringify({ bundle: options.bundle, commit: bundle.commit, checks: CHECKS.filter((c) => options.checks.includes(c.id)), configs, timingModes: options.timingModes, out: options.out }, null, 1)}\n`);
    return 0;
  }

  const probe = await probeInChildProcess();
  const problem = deviceProblem(probe.cuda);
  if (problem) {
    log(`gpu-check: ${problem}; nothing to run (the bundle at ${options.bundle} is ready; checks: ${options.checks.join(', ')})`);
    return 0;
  }
  const device = probe.cuda.devices![0];
  const date = new Date();
  const name = `gpu-check-${date.toISOString().slice(0, 10)}-${bundle.commit.slice(0, 7)}-${date.toISOString().slice(11, 19).replace(/:/g, '')}.json`;
  const results = new Results(options.out, name, {
    format: RESULTS_FORMAT,
    date: date.toISOString(),
    commit: bundle.commit,
    dirty: bundle.dirty,
    bundleCreatedAt: bundle.createdAt,
    device: { ...device, driverVersion: probe.cuda.driverVersion, arch: bundle.arch },
    host: hostname(),
    node: process.version,
    options: { ...options, out: undefined, bundle: undefined, configs },
  });
  log(`gpu-check on ${device.name} (cc ${device.computeCapability}, ${device.smCount} SMs), commit ${bundle.commit.slice(0, 12)}${bundle.dirty ? ' (dirty)' : ''}: ${options.checks.join(', ')} → ${results.file}`);

  const gpu = new Gpu(loadAddon(), options.bundle, bundle);
  try {
    for (const id of options.checks) {
      log(`[${id}] ${CHECKS.find((c) => c.id === id)!.what}`);
      const started = performance.now();
      let r: CheckResult;
      try {
        r = await runCheck(id, gpu, options, configs, log);
      } catch (e) {
        r = { status: 'error', reason: (e as Error).stack ?? String(e) };
      }
      r.seconds = (performance.now() - started) / 1000;
      results.set(id, r);
      log(`[${id}] ${r.status} in ${r.seconds.toFixed(1)} s${r.reason ? `: ${String(r.reason).split('\n')[0]}` : ''}`);
    }
  } finally {
    try {
      gpu.dispose();
    } catch {
      /* a faulted context: the results are written */
    }
  }
  const bad = Object.entries(results.doc.checks).filter(([, r]) => r.status === 'failed' || r.status === 'error');
  log(`gpu-check: ${bad.length ? `${bad.map(([k]) => k).join(', ')} failed` : 'all passed'}; results in ${results.file}`);
  return bad.length ? 1 : 0;
}

function runCheck(id: CheckId, gpu: Gpu, o: GpuCheckOptions, configs: string[], log: (l: string) => void): Promise<CheckResult> | CheckResult {
  switch (id) {
    case 'kernels':
      return checkKernels(gpu, configs, o.seeds, log);
    case 'e2e':
      return checkE2e(o.bundle, gpu.bundle, configs, log);
    case 'timing':
      return checkTiming(gpu, o.bundle, { modes: o.timingModes, runs: o.runs, budgetSeconds: o.timingBudget, log });
    case 'graphs':
      return checkGraphs(o.bundle, gpu.bundle, configs.includes('tiny-moe-128') ? 'tiny-moe-128' : configs[0], log);
    case 'sanitizer':
      return checkSanitizer(bundledEntry(), configs, o.sanitizerTimeout, log);
  }
}
