/**
 * Check (b): the tiny models end to end on cuda against the float64 reference: the bundle's
 * make-tiny checkpoints and cuda packages, through a routing-probe copy of each package
 * (test/e2e/routing-probe.ts) and test/e2e/agreement.ts (the cpu test's bounds and logic).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAgreement } from '../../test/e2e/agreement.ts';
import { routingProbePackage } from '../../test/e2e/routing-probe.ts';
import { openSession, tinyModelAt } from '../../test/e2e/tiny-model.ts';
import type { BundleManifest, Mode } from './layout.ts';
import { MODES, packageDir } from './layout.ts';
import { checkpointPath } from './checkpoints.ts';
import type { CheckResult } from './results.ts';

export async function checkE2e(bundleDir: string, bundle: BundleManifest, configs: readonly string[], log: (l: string) => void = () => {}): Promise<CheckResult> {
  const work = mkdtempSync(join(tmpdir(), 'dsv3c-gpu-e2e-'));
  const runs: Record<string, unknown>[] = [];
  try {
    for (const name of configs) {
      const model = await tinyModelAt(name, await checkpointPath(bundleDir, bundle, name), bundle.tinySeed);
      for (const mode of MODES as readonly Mode[]) {
        const started = performance.now();
        const probeDir = join(work, `${name}-${mode}-probe`);
        let session: Awaited<ReturnType<typeof openSession>> | undefined;
        try {
          const probes = routingProbePackage(join(bundleDir, packageDir(name, mode)), probeDir);
          session = await openSession(probeDir, model);
          const r = await checkAgreement(model, mode, session, probes);
          runs.push({ config: name, mode, status: 'passed', ...r, seconds: (performance.now() - started) / 1000 });
          log(`  ok   ${r.summary}`);
        } catch (e) {
          runs.push({ config: name, mode, status: 'failed', error: (e as Error).message, seconds: (performance.now() - started) / 1000 });
          log(`  FAIL ${name} ${mode}: ${(e as Error).message}`);
        } finally {
          session?.dispose();
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { status: runs.some((r) => r.status !== 'passed') ? 'failed' : 'passed', seed: bundle.tinySeed, runs };
}
