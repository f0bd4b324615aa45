/**
 * Check (a): every cuda kernel instance of the tiny configs against its op's float64 reference,
 * through test/codegen/harness.ts (fresh random inputs, poisoned outputs, per-dtype bounds), with
 * the cubins built here (the bundle's packages). Each instance runs with `seeds` random seeds.
 */
import { cudaDialect } from '../../compiler/codegen/dialect.ts';
import { runSample } from '../../test/codegen/harness.ts';
import { compileBoth, samplesOf } from '../../test/codegen/support.ts';
import type { Gpu } from './cuda.ts';
import { ARCH } from './layout.ts';
import type { CheckResult } from './results.ts';

export function checkKernels(gpu: Gpu, configs: readonly string[], seeds = 2, log: (l: string) => void = () => {}): CheckResult {
  const samples = samplesOf(configs.map((c) => `${c}.json`).flatMap((c) => compileBoth(c)), cudaDialect(ARCH));
  const backend = gpu.backend();
  const instances: { instance: string; family: string; label: string; seeds: number[]; problems: string[]; ms: number }[] = [];
  for (const s of samples) {
    const started = performance.now();
    const used: number[] = [];
    const problems: string[] = [];
    for (let i = 0; i < seeds; i++) {
      const seed = (Math.random() * 2 ** 32) >>> 0;
      used.push(seed);
      try {
        problems.push(...runSample(s, backend, seed).map((p) => `seed ${seed}: ${p}`));
      } catch (e) {
        problems.push(`seed ${seed}: ${(e as Error).message}`);
      }
      if (problems.length) break;
    }
    instances.push({ instance: s.instance.name, family: s.instance.family.name, label: s.label, seeds: used, problems, ms: performance.now() - started });
    log(`  ${problems.length ? 'FAIL' : 'ok  '} ${s.instance.family.name} (${s.label})${problems.length ? `: ${problems[0]}` : ''}`);
  }
  const failed = instances.filter((i) => i.problems.length > 0);
  return {
    status: failed.length ? 'failed' : 'passed',
    configs: [...configs],
    instances: instances.length,
    failed: failed.length,
    failures: failed,
    passedInstances: instances.filter((i) => !i.problems.length).map((i) => i.instance),
  };
}
