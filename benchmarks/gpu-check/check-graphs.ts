/**
 * Check (d): decode step time of a tiny model through the executor, plain launches (a copy of the
 * package whose decode phase is not capturable) vs CUDA-graph replay (the package as built):
 * wall time of executor.decode + a 4-byte logits read (which waits for the step), median over
 * steps after warm-up, at batch sizes 1 and 4.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan } from '../../compiler/package/plan-format.ts';
import { openSession, tinyModelAt } from '../../test/e2e/tiny-model.ts';
import type { BundleManifest } from './layout.ts';
import { packageDir } from './layout.ts';
import { checkpointPath } from './checkpoints.ts';
import type { CheckResult } from './results.ts';
import { median } from './results.ts';

const PROMPT = 8;
const WARMUP = 8;
const STEPS = 64;

export async function checkGraphs(bundleDir: string, bundle: BundleManifest, config: string, log: (l: string) => void = () => {}): Promise<CheckResult> {
  const work = mkdtempSync(join(tmpdir(), 'dsv3c-gpu-graphs-'));
  try {
    const model = await tinyModelAt(config, await checkpointPath(bundleDir, bundle, config), bundle.tinySeed);
    const graphPkg = join(bundleDir, packageDir(config, 'fp8'));
    const plainPkg = join(work, 'plain');
    cpSync(graphPkg, plainPkg, { recursive: true });
    const plan = JSON.parse(readFileSync(join(plainPkg, 'plan.json'), 'utf8')) as Plan;
    writeFileSync(join(plainPkg, 'plan.json'), JSON.stringify({ ...plan, phases: plan.phases.map((p) => ({ ...p, capturable: false })) }));
    const capturable = plan.phases.find((p) => p.phase === 'decode')?.capturable ?? false;
    const kernels = plan.phases.find((p) => p.phase === 'decode')?.kernels.length ?? 0;
    const figures: Record<string, unknown>[] = [];
    for (const B of [1, 4]) {
      const row: Record<string, unknown> = { batch: B };
      for (const [how, pkg] of [['plain', plainPkg], ['graph', graphPkg]] as const) {
        const session = await openSession(pkg, model, { maxContext: 96, maxBatch: 4 });
        try {
          const ex = session.executor;
          for (let s = 0; s < B; s++) ex.prefill(s, Array.from({ length: PROMPT }, (_, i) => (i * 7 + s) % model.config.vocabSize), 0);
          const one = new Float32Array(1);
          const times: number[] = [];
          for (let k = 0; k < WARMUP + STEPS; k++) {
            const t0 = performance.now();
            const out = ex.decode(Array.from({ length: B }, (_, b) => (k + b) % model.config.vocabSize), Array.from({ length: B }, () => PROMPT + k));
            out.logits.memory.read(one, out.logits.byteOffset);
            if (k >= WARMUP) times.push(performance.now() - t0);
          }
          row[how] = { medianMs: median(times), minMs: Math.min(...times), steps: STEPS };
        } finally {
          session.dispose();
        }
      }
      const plain = (row.plain as { medianMs: number }).medianMs;
      const graph = (row.graph as { medianMs: number }).medianMs;
      row.speedup = plain / graph;
      figures.push(row);
      log(`  B=${B}: plain ${plain.toFixed(3)} ms/step, graph ${graph.toFixed(3)} ms/step (×${(plain / graph).toFixed(2)})`);
    }
    return { status: 'measured', config, mode: 'fp8', decodeKernels: kernels, capturable, what: 'wall ms per decode step (executor.decode + 4-byte logits read), median', figures };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
