import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { compileModel } from '../../compile-model.ts';
import { loadConfig } from '../../config/parse-config.ts';
import { printGraph } from '../../ir/print.ts';
import { phaseReport, phaseSummary } from '../../report/compile-report.ts';
import { writeFileAtomic } from '../write-atomic.ts';
import { UsageError } from '../usage-error.ts';

interface CompileFlags {
  config: string;
  report?: string;
  dumpIr?: string;
  disablePass: string[];
  actQuant: string;
  context: string;
}

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('Lower a config to the optimized kernel graph of each phase (prefill, decode)')
    .requiredOption('--config <file>', 'a DeepseekV3ForCausalLM config.json')
    .option('--report <file.json>', 'write op and kernel counts, bytes per decode token and peak activation memory')
    .option('--dump-ir <dir>', 'write the IR as text after the model builder and after each pass')
    .option('--disable-pass <name>', 'leave a pass out (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('--act-quant <fp8|none>', 'fp8: W8A8 (activations quantized per 1×128, DeepSeek\'s fp8 path); none: W8A16', 'fp8')
    .option('--context <tokens>', 'context length for the decode bytes in the report', '4096')
    .action((flags: CompileFlags) => {
      if (flags.actQuant !== 'fp8' && flags.actQuant !== 'none') throw new UsageError(`--act-quant ${flags.actQuant}: expected fp8 or none`);
      const context = Number(flags.context);
      if (!Number.isInteger(context) || context < 1) throw new UsageError(`--context ${flags.context}: expected a positive whole number`);
      const config = loadConfig(flags.config);
      const phases = compileModel(config, { actQuant: flags.actQuant, disabledPasses: flags.disablePass });
      if (flags.dumpIr) dumpIr(flags.dumpIr, phases);
      if (flags.report) {
        const report = { config: flags.config, actQuant: flags.actQuant, disabledPasses: flags.disablePass, phases: phases.map((p) => phaseReport(config, p, context)) };
        mkdirSync(dirname(flags.report), { recursive: true });
        writeFileAtomic(flags.report, `${JSON.stringify(report, null, 2)}\n`);
      }
      for (const r of phases.map((p) => phaseSummary(config, p))) {
        const moe = r.kernelsPerMoeLayer ? `, ${r.kernelsPerMoeLayer.kernels} per MoE layer` : '';
        const dense = r.kernelsPerDenseLayer ? `, ${r.kernelsPerDenseLayer.kernels} per dense layer` : '';
        process.stderr.write(`${r.phase}: ${r.opsBeforeFusion} ops → ${r.opsAfterFusion} after fusion, ${r.kernels} kernels${dense}${moe}\n`);
      }
    });
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
