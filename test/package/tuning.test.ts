/**
 * Autotuned tunables: the candidates an autotuner may try, tuning.json read back by
 * `compile --tuning`, and the guarantee that makes tuning safe: a tunable changes how a kernel is
 * laid out over threads, never what it computes, so a package built with other picks gives the
 * same logits bit for bit (cpu target, whose kernels compute each output the same way whatever
 * block computes it).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CPU_DIALECT, cudaDialect } from '../../compiler/codegen/dialect.ts';
import { planKernels } from '../../compiler/codegen/instances.ts';
import type { Tunables } from '../../compiler/codegen/kernel-family.ts';
import { baseOfInstanceName, defaultTunables, instanceBase, problems } from '../../compiler/codegen/kernel-family.ts';
import { MAX_CANDIDATES, tunableCandidates } from '../../compiler/codegen/tunable-space.ts';
import { compileModel } from '../../compiler/compile-model.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { buildPackageKernels } from '../../compiler/package/build-kernels.ts';
import { generatePackage } from '../../compiler/package/generate-package.ts';
import { readTuningChoices, TUNING_FORMAT } from '../../compiler/package/tuning.ts';
import { writePackage } from '../../compiler/package/write-package.ts';
import { cpuPackage, makeTinyModel, openSession, tempRoot } from '../e2e/tiny-model.ts';

const tiny = loadConfig('configs/tiny-moe-128.json');

describe('tunable candidates', () => {
  it('start with the defaults, meet every constraint, and stay within the cap (V3 on sm_90a, tiny on the cpu)', () => {
    const plans = [
      { plan: planKernels(compileModel(loadConfig('configs/deepseek-v3.json'), { actQuant: 'fp8', disabledPasses: [] })[1].schedule, cudaDialect('sm_90a')), target: 'gpu' as const, warp: 32 },
      { plan: planKernels(compileModel(tiny, { actQuant: 'fp8', disabledPasses: [] })[0].schedule, CPU_DIALECT), target: 'cpu' as const, warp: 1 },
    ];
    for (const { plan, target, warp } of plans) {
      for (const inst of plan.instances) {
        const candidates = tunableCandidates(inst.family, inst.constants, target, warp);
        expect(candidates[0], inst.name).toEqual(defaultTunables(inst.family, target));
        expect(candidates.length).toBeLessThanOrEqual(MAX_CANDIDATES);
        for (const t of candidates) expect(problems(inst.family, inst.constants, t, target, warp), `${inst.name} ${JSON.stringify(t)}`).toEqual([]);
        expect(new Set(candidates.map((t) => JSON.stringify(t))).size).toBe(candidates.length);
      }
    }
  });

  it('an instance name gives back its base', () => {
    const inst = planKernels(compileModel(tiny, { actQuant: 'fp8', disabledPasses: [] })[0].schedule, CPU_DIALECT).instances[0];
    expect(baseOfInstanceName(inst.name)).toBe(instanceBase(inst.family.name, inst.constants));
    expect(baseOfInstanceName('no-separator')).toBeUndefined();
  });
});

describe('tuning.json read back by compile --tuning', () => {
  const file = (instances: Record<string, unknown>, target = 'cpu') => JSON.stringify({ format: TUNING_FORMAT, target, arch: 'host', instances });
  const entry = (chosenBy: string, ROWS: number) => ({ family: 'add', chosenBy, tunables: { ROWS }, space: { ROWS: [1, 4, 16] } });

  it('takes the autotuned entries by instance base and leaves the defaults out', () => {
    const chosen = readTuningChoices(file({ add__K8_rows4__ROWS16: entry('autotune', 16), add__K9_rows4__ROWS4: entry('default', 4) }), 't.json', 'cpu');
    expect([...chosen]).toEqual([['add__K8_rows4', { ROWS: 16 }]]);
  });

  it('names the file and what is wrong', () => {
    expect(() => readTuningChoices('{', 't.json', 'cpu')).toThrow(/t.json: not valid JSON/);
    expect(() => readTuningChoices(JSON.stringify({ format: 'x' }), 't.json', 'cpu')).toThrow(/t.json: format "x", expected dsv3c-tuning\/1/);
    expect(() => readTuningChoices(file({}, 'cuda'), 't.json', 'cpu')).toThrow(/tuned for target "cuda", this compile is for cpu/);
    expect(() => readTuningChoices(file({ add__K8_rows4__ROWS3: entry('autotune', 3) }), 't.json', 'cpu')).toThrow(/add__K8_rows4__ROWS3: tunable ROWS = 3, expected one of \[1,4,16\]/);
  });
});

describe('a package built with other tunables', () => {
  it('computes the same logits bit for bit (tiny-moe-128, every cpu instance at the last setting of its space)', async () => {
    const root = tempRoot('dsv3c-tuning-');
    const model = await makeTinyModel('tiny-moe-128', root);
    const phases = compileModel(model.config, { actQuant: 'fp8', disabledPasses: [] });
    const chosen = new Map<string, Tunables>();
    for (const p of phases) {
      for (const inst of planKernels(p.schedule, CPU_DIALECT).instances) {
        const last = tunableCandidates(inst.family, inst.constants, 'cpu', 1).at(-1)!;
        chosen.set(instanceBase(inst.family.name, inst.constants), last);
      }
    }
    const tunedDir = join(root, 'tuned-pkg');
    const files = generatePackage(model.config, phases, { model: model.name, dialect: CPU_DIALECT, actQuant: 'fp8', disabledPasses: [], kernels: { chosen } });
    const tuning = JSON.parse(files.get('tuning.json')!) as { instances: Record<string, { chosenBy: string }> };
    expect(Object.values(tuning.instances).filter((e) => e.chosenBy === 'autotune').length).toBeGreaterThan(20);
    writePackage(tunedDir, files);
    await buildPackageKernels(tunedDir);

    const prompt = [5, 9, 33, 100, 7, 2, 64, 11, 3];
    const logits = async (pkg: string) => {
      const session = await openSession(pkg, model);
      try {
        const rows: number[] = [];
        for await (const t of session.generate(prompt, { maxNewTokens: 6, stopIds: [], onLogits: (_s, _k, row) => rows.push(...row) })) void t;
        return Float32Array.from(rows);
      } finally {
        session.dispose();
      }
    };
    const tuned = await logits(tunedDir);
    const byDefault = await logits(await cpuPackage(model, 'fp8', root));
    expect(tuned.length).toBe((prompt.length + 6) * model.config.vocabSize);
    expect(Buffer.from(tuned.buffer).equals(Buffer.from(byDefault.buffer)), `seed ${model.seed}`).toBe(true);
  }, 300_000);
});
