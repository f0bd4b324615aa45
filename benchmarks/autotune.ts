/**
 * Kernel autotuning: every kernel instance of a config's schedule (both phases, one activation
 * mode) is built in each tunable setting its family allows (compiler/codegen/tunable-space.ts),
 * timed on random inputs at a representative step, and the fastest setting is kept. The output
 * is a tuning.json (chosenBy "autotune") that `dsv3c compile --tuning FILE` builds packages from;
 * a tunable changes how a kernel is laid out over threads, never what it computes (the cpu
 * kernels' results are bit-identical: test/package/tuning.test.ts).
 *
 * This runs the cpu target, on this machine's cores; the GPU search (the same loop over the CUDA
 * backend of benchmarks/gpu-check) is for a GPU session. A setting is picked over the default
 * only when it is at least PICK_MARGIN faster, so noise does not move the choice. Prints a JSON
 * summary; with --save writes it under benchmarks/results/ with machine, date and commit.
 *
 *   npx tsx benchmarks/autotune.ts --config configs/tiny-moe-128.json [--act-quant fp8|none]
 *       [--runs 15] [--out tuning.json] [--save]
 */
import { execFileSync, execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { argv, buildCommand } from '../compiler/codegen/build.ts';
import { CPU_DIALECT } from '../compiler/codegen/dialect.ts';
import type { KernelInstance } from '../compiler/codegen/instances.ts';
import { instanceFor, planKernels } from '../compiler/codegen/instances.ts';
import type { Tunables } from '../compiler/codegen/kernel-family.ts';
import { instanceBase } from '../compiler/codegen/kernel-family.ts';
import { renderModule } from '../compiler/codegen/render.ts';
import { tunableCandidates } from '../compiler/codegen/tunable-space.ts';
import { compileModel } from '../compiler/compile-model.ts';
import { loadConfig } from '../compiler/config/parse-config.ts';
import type { Bindings } from '../compiler/ir/types.ts';
import { TUNING_FORMAT } from '../compiler/package/tuning.ts';
import type { CpuBuffer, CpuModule, NativeAddon } from '../runtime/src/native/addon-types.ts';
import type { Backend } from '../test/codegen/harness.ts';
import { stageLaunch } from '../test/codegen/harness.ts';
import { loadAddon } from '../runtime/src/native/load-addon.ts';
import type { Sample } from '../test/codegen/support.ts';
import { operandsOf, samplesOf } from '../test/codegen/support.ts';
import { tempDir } from '../test/native/native-support.ts';

/** A non-default setting must beat the default's median by this fraction to be picked. */
const PICK_MARGIN = 0.05;
/** The step a kernel is timed at: a decode batch, and a prefill chunk over a short cache. */
const STEP: Readonly<Record<string, Bindings>> = { decode: { B: 16, S: 128, P: 256 }, prefill: { T: 64, S: 64, P: 256 } };

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const configFile = flag('--config', 'configs/tiny-moe-128.json');
const actQuant = flag('--act-quant', 'fp8') as 'fp8' | 'none';
const runs = Number(flag('--runs', '15'));
const out = flag('--out', '');

interface Timed {
  readonly tunables: Tunables;
  readonly instance: KernelInstance;
  readonly medianUs: number;
}

const config = loadConfig(configFile);
const model = basename(configFile).replace(/\.json$/, '');
const phases = compileModel(config, { actQuant, disabledPasses: [] });
const samples = samplesOf(
  phases.map((phase) => ({ label: `${model} ${phase.phase}`, phase })),
  CPU_DIALECT,
);
const variants = samples.map((s) => {
  const { family } = s.instance;
  const base = instanceBase(family.name, s.instance.constants);
  const operands = operandsOf(s.node, s.schedule);
  return tunableCandidates(family, s.instance.constants, 'cpu', CPU_DIALECT.warpSize).map((tunables) => ({
    tunables,
    instance: instanceFor(family, s.node, operands, CPU_DIALECT, { chosen: new Map([[base, tunables]]) }),
  }));
});
const distinct = new Map(variants.flat().map((v) => [v.instance.name, v.instance]));

const dir = tempDir('autotune');
const source = join(dir, 'variants.cc');
writeFileSync(source, renderModule([...distinct.values()], CPU_DIALECT, model));
const lib = join(dir, 'libvariants.so');
const started = Date.now();
const cmd = buildCommand(CPU_DIALECT, 'loadable');
execFileSync(cmd.tool, argv(cmd, source, lib), { stdio: ['ignore', 'inherit', 'inherit'] });
process.stderr.write(`autotune: ${distinct.size} variants of ${samples.length} instances built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

const addon: NativeAddon = loadAddon();
const context = new addon.cpu.Context();
const module: CpuModule = new addon.cpu.Module(context, lib);

// Kernels loaded once each, so that a timed launch is the launch alone.
const kernels = new Map<string, InstanceType<NativeAddon['cpu']['Kernel']>>();
const cpu: Backend = {
  alloc: (bytes) => new addon.cpu.Buffer(context, bytes),
  launch(inst, grid, buffers, symbols) {
    let kernel = kernels.get(inst.name);
    if (!kernel) kernels.set(inst.name, (kernel = new addon.cpu.Kernel(module, inst.name)));
    kernel.launch({ blocks: grid[0] * grid[1] * grid[2], args: [...(buffers as CpuBuffer[]), ...symbols] });
  },
};

/** Median microseconds of `runs` launches of one variant on fresh random inputs (after two warm-up launches). */
function time(sample: Sample, instance: KernelInstance): number {
  const staged = stageLaunch(sample, instance, cpu, STEP[sample.schedule.graph.phase], 1);
  staged.launch();
  staged.launch();
  const us: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    staged.launch();
    us.push((performance.now() - t0) * 1000);
  }
  staged.dispose();
  return median(us);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const results = samples.map((sample, i) => {
  const timed: Timed[] = variants[i].map((v) => ({ ...v, medianUs: time(sample, v.instance) }));
  const [byDefault] = timed; // tunableCandidates puts the defaults first
  const fastest = timed.reduce((a, b) => (b.medianUs < a.medianUs ? b : a));
  const pick = fastest.medianUs < byDefault.medianUs * (1 - PICK_MARGIN) ? fastest : byDefault;
  return { sample, timed, byDefault, pick };
});

// A step's kernel time, default vs picked: each launch of the phase at its instance's median.
const byName = new Map(results.map((r) => [r.sample.instance.name, r]));
const stepUs = (which: 'byDefault' | 'pick') =>
  Object.fromEntries(phases.map((p) => [p.phase, Math.round(planKernels(p.schedule, CPU_DIALECT).launches.reduce((sum, l) => sum + byName.get(l.instance)![which].medianUs, 0))]));

const tuning = {
  format: TUNING_FORMAT,
  target: 'cpu',
  arch: CPU_DIALECT.arch,
  instances: Object.fromEntries(
    results.map(({ sample, pick }) => [
      pick.instance.name,
      {
        family: sample.instance.family.name,
        chosenBy: 'autotune',
        tunables: pick.tunables,
        space: Object.fromEntries(Object.entries(sample.instance.family.tunables.cpu).map(([k, v]) => [k, v.space])),
      },
    ]),
  ),
};
if (out) writeFileSync(out, `${JSON.stringify(tuning, null, 1)}\n`);

const commit = execSync('git rev-parse --short HEAD').toString().trim();
const summary = {
  what: `kernel autotuning on the cpu target: each instance of ${model}'s schedule (${actQuant}) in every tunable setting, median µs of ${runs} launches at decode B=16 / prefill T=64; a setting replaces the default when ≥ ${PICK_MARGIN * 100}% faster`,
  config: configFile,
  actQuant,
  runs,
  step: STEP,
  instances: results.length,
  changed: results.filter((r) => r.pick !== r.byDefault).length,
  stepUs: { default: stepUs('byDefault'), tuned: stepUs('pick') },
  perInstance: results.map(({ sample, timed, byDefault, pick }) => ({
    instance: byDefault.instance.name,
    where: sample.label,
    candidates: timed.map((t) => ({ tunables: t.tunables, medianUs: Number(t.medianUs.toFixed(1)) })),
    picked: pick.tunables,
    speedupOverDefault: Number((byDefault.medianUs / pick.medianUs).toFixed(3)),
  })),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  date: new Date().toISOString().slice(0, 10),
  commit,
};
console.log(JSON.stringify(summary, null, 2));
if (args.includes('--save')) {
  mkdirSync('benchmarks/results', { recursive: true });
  writeFileSync(`benchmarks/results/autotune-cpu-${model}-${summary.date}-${commit}.json`, `${JSON.stringify(summary, null, 2)}\n`);
}
for (const k of kernels.values()) k.dispose();
module.dispose();
