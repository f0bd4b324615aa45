import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { compileModel } from '../../compile-model.ts';
import { formatMesh, SINGLE_RANK, parseMesh, validateCompileMesh } from '../../config/mesh.ts';
import { loadConfig } from '../../config/parse-config.ts';
import { printGraph } from '../../ir/print.ts';
import { buildPackageKernels } from '../../package/build-kernels.ts';
import { dialectFor } from '../../package/dialect-for.ts';
import { generatePackageWithoutIndex, indexFacts } from '../../package/generate-package.ts';
import { writeIndexOnWorker } from '../../package/index-writer.ts';
import { readTuningChoices } from '../../package/tuning.ts';
import { checkPackageDir, writePackage } from '../../package/write-package.ts';
import { phaseReport, phaseSummary } from '../../report/compile-report.ts';
import { ProgressBar } from '../../../runtime/src/progress-bar.ts';
import { UsageError } from '../usage-error.ts';
import { writeFileAtomic } from '../write-atomic.ts';

interface CompileFlags {
  config?: string;
  model?: string;
  target?: string;
  arch?: string;
  out?: string;
  build?: boolean;
  jobs?: string;
  report?: string;
  dumpIr?: string;
  disablePass: string[];
  actQuant: string;
  context: string;
  mesh?: string;
  tuning?: string;
}

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('Lower a config to the optimized kernel graph of each phase (prefill, decode); with --target, write the generated package')
    .option('--config <file>', 'a DeepseekV3ForCausalLM config.json')
    .option('--model <dir>', 'a checkpoint folder (its config.json is compiled)')
    .option('--target <cuda|hip|cpu>', 'write a package of kernels for this target')
    .option('--arch <arch>', 'cuda: sm_90a (default) or sm_80; hip: gfx90a (default) or gfx940')
    .option('--out <dir>', 'the package folder (default: ./dsv3c-<model>-<target>)')
    .option('--build', 'also compile every kernel (nvcc, hipcc or c++), in parallel, cached by source and flags')
    .option('--jobs <n>', 'parallel compiler processes for --build (default: the CPUs available)')
    .option('--report <file.json>', 'write op and kernel counts, bytes per decode token and peak activation memory')
    .option('--dump-ir <dir>', 'write the IR as text after the model builder and after each pass')
    .option('--disable-pass <name>', 'leave a pass out (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('--act-quant <fp8|none>', "fp8: W8A8 (activations quantized per 1×128, DeepSeek's fp8 path); none: W8A16", 'fp8')
    .option('--context <tokens>', 'context length for the decode bytes in the report', '4096')
    .option('--tuning <tuning.json>', "kernel tunables an autotuner picked (benchmarks/autotune.ts's output, chosenBy \"autotune\"); with --target")
    .option('--mesh <tp=N,ep=M>', 'compile the graph each rank of a tensor × expert parallel mesh runs (heads, MLPs and the head split N ways, routed experts M ways; run it with dsv3c run on the cpu target)')
    .action(async (flags: CompileFlags) => {
      const actQuant = flags.actQuant;
      if (actQuant !== 'fp8' && actQuant !== 'none') throw new UsageError(`--act-quant ${actQuant}: expected fp8 or none`);
      const context = Number(flags.context);
      if (!Number.isInteger(context) || context < 1) throw new UsageError(`--context ${flags.context}: expected a positive whole number`);
      if (!flags.config === !flags.model) throw new UsageError('give exactly one of --config FILE or --model DIR');
      if ((flags.out || flags.build || flags.arch || flags.tuning) && !flags.target) throw new UsageError('--out, --arch, --build and --tuning need --target cuda|hip|cpu');
      const jobs = flags.jobs === undefined ? undefined : Number(flags.jobs);
      if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1)) throw new UsageError(`--jobs ${flags.jobs}: expected a positive whole number`);
      const configFile = flags.config ?? join(flags.model!, 'config.json');
      const model = flags.config ? basename(flags.config).replace(/\.json$/, '') : basename(resolve(flags.model!));
      const mesh = flags.mesh === undefined ? SINGLE_RANK : parseMesh(flags.mesh);
      const dialect = flags.target ? dialectFor(flags.target, flags.arch) : undefined;
      const out = dialect ? (flags.out ?? `dsv3c-${model}-${dialect.target}${mesh.tp * mesh.ep > 1 ? `-tp${mesh.tp}-ep${mesh.ep}` : ''}`) : undefined;
      if (out) checkPackageDir(out); // before the compile, not after it

      const config = loadConfig(configFile);
      validateCompileMesh(config, mesh);
      const chosen = flags.tuning && dialect ? readTuningChoices(readTuningFile(flags.tuning), flags.tuning, dialect.target) : undefined;
      const packageOptions = dialect && ({ model, dialect, actQuant, disabledPasses: flags.disablePass, mesh, kernels: { chosen } } as const);
      // index.ts is written with ts-morph, slow to load: on a worker thread, beside the compile.
      const index = packageOptions ? writeIndexOnWorker(indexFacts(config, packageOptions)) : undefined;
      try {
        const phases = compileModel(config, { actQuant, disabledPasses: flags.disablePass, mesh });
        if (flags.dumpIr) dumpIr(flags.dumpIr, phases);
        if (flags.report) {
          const report = { config: flags.config ?? configFile, actQuant, disabledPasses: flags.disablePass, ...(mesh.tp * mesh.ep > 1 ? { mesh, perRank: true } : {}), phases: phases.map((p) => phaseReport(config, p, context)) };
          mkdirSync(dirname(flags.report), { recursive: true });
          writeFileAtomic(flags.report, `${JSON.stringify(report, null, 2)}\n`);
        }
        for (const r of phases.map((p) => phaseSummary(config, p))) {
          const moe = r.kernelsPerMoeLayer ? `, ${r.kernelsPerMoeLayer.kernels} per MoE layer` : '';
          const dense = r.kernelsPerDenseLayer ? `, ${r.kernelsPerDenseLayer.kernels} per dense layer` : '';
          const rank = mesh.tp * mesh.ep > 1 ? ` on each of ${mesh.tp * mesh.ep} ranks (${formatMesh(mesh)})` : '';
          process.stderr.write(`${r.phase}: ${r.opsBeforeFusion} ops → ${r.opsAfterFusion} after fusion, ${r.kernels} kernels${dense}${moe}${rank}\n`);
        }
        if (!out || !packageOptions || !index) return;

        const files = generatePackageWithoutIndex(config, phases, packageOptions).set('index.ts', await index.source);
        writePackage(out, files);
        const kernels = [...files.keys()].filter((f) => f.startsWith('kernels/')).length;
        process.stderr.write(`wrote ${out}: ${kernels} kernel sources for ${dialect.target} ${dialect.arch}, plan.json, manifest.json, index.ts\n`);
        if (chosen) {
          const tuned = JSON.parse(files.get('tuning.json')!) as { instances: Record<string, { chosenBy: string }> };
          const used = Object.values(tuned.instances).filter((e) => e.chosenBy === 'autotune').length;
          process.stderr.write(`--tuning ${flags.tuning}: ${used} kernel instances take its picks (${chosen.size} picks in the file)\n`);
        }
      } finally {
        await index?.stop();
      }
      if (out && flags.build) await buildKernels(out, jobs);
    });
}

function readTuningFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--tuning ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

async function buildKernels(out: string, jobs: number | undefined): Promise<void> {
  let bar: ProgressBar | undefined;
  const result = await buildPackageKernels(out, {
    jobs,
    onProgress: (p) => (bar ??= new ProgressBar({ label: 'building kernels', total: p.total, unit: 'items' })).update(p.done, p.instance),
  });
  bar?.finish('');
  process.stderr.write(`built ${result.kernels} kernels in ${result.seconds.toFixed(1)} s: ${result.compiled} compiled, ${result.cached} from the cache (${result.cacheDir})\n`);
}

/** One text file per phase and step: 00-model.txt, 01-absorb-mla.txt, … */
function dumpIr(dir: string, phases: ReturnType<typeof compileModel>): void {
  for (const p of phases) {
    const out = join(dir, p.phase);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, '00-model.txt'), printGraph(p.model));
    p.run.steps.forEach((s, i) => writeFileSync(join(out, `${String(i + 1).padStart(2, '0')}-${s.pass}.txt`), printGraph(s.graph)));
  }
}
