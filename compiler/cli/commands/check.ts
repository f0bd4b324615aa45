import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { checkCheckpoint, type CheckReport } from '../../checkpoint/check-checkpoint.ts';
import { UsageError } from '../usage-error.ts';

/** `dsv3c check --model DIR`: validates a checkpoint folder against its config.json. */
export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('Validate a checkpoint folder (config.json + safetensors shards + index) against its config: every problem listed')
    .requiredOption('--model <dir>', 'checkpoint folder')
    .action(async (opts: { model: string }) => {
      const status = await runCheck(opts.model, (s) => process.stdout.write(s));
      if (status !== 0) process.exitCode = status;
    });
}

/** Prints the summary and every problem; returns 0 when there are none, 1 otherwise. */
export async function runCheck(dir: string, write: (text: string) => void): Promise<number> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--model ${dir}: not a folder`);
  const report = await checkCheckpoint(dir);
  write(formatReport(report));
  return report.problems.length === 0 ? 0 : 1;
}

export function formatReport(r: CheckReport): string {
  const lines = [`checkpoint ${r.scan.dir}`];
  const c = r.config;
  if (c) {
    const mtp = c.numNextnPredictLayers > 0 ? ` + ${c.numNextnPredictLayers} MTP` : '';
    const q = c.quantization ? `FP8 e4m3 ${c.quantization.blockN}×${c.quantization.blockK} blocks` : 'bf16';
    lines.push(`  config   ${c.numLayers} layers${mtp}, ${c.nRoutedExperts} routed experts, ${q}`);
  }
  lines.push(r.scan.indexFile ? `  layout   index + ${r.scan.shards.length} shards` : `  layout   single file (${r.scan.shards.length} read)`);
  lines.push(`  tensors  ${r.scan.present.size} stored, ${r.config ? r.expectedTensors : '?'} expected`);
  lines.push(`  bytes    ${r.tensorBytes.toLocaleString('en-US')} of tensor data in ${r.fileBytes.toLocaleString('en-US')} bytes of files`);
  const dtypes = [...r.dtypes].map(([d, t]) => `${d} ${t.tensors} (${t.bytes.toLocaleString('en-US')} B)`);
  lines.push(`  dtypes   ${dtypes.join(', ') || 'none'}`);
  if (r.problems.length === 0) {
    lines.push('ok: no problems');
  } else {
    lines.push(`${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}:`);
    for (const p of r.problems) lines.push(`  error: ${p.message}`);
  }
  return lines.join('\n') + '\n';
}
