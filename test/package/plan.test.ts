/**
 * plan.json and manifest.json are the whole contract between compiler and runtime, so their
 * invariants are checked on every config: every kernel argument names a buffer that exists and
 * is alive at that kernel, argument counts match the kernel source, grids evaluate for any step,
 * every weight a plan reads is in the manifest with a source the checkpoint holds, and the sampler
 * is a rendered, tuned `sample` instance over rows as wide as the logits.
 */
import { describe, expect, it } from 'vitest';
import { evalExpr } from '../../compiler/codegen/expr.ts';
import { compileModel } from '../../compiler/compile-model.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { checkpointTensors } from '../../compiler/model/checkpoint-tensors.ts';
import { dialectFor } from '../../compiler/package/dialect-for.ts';
import { generatePackage } from '../../compiler/package/generate-package.ts';
import type { Manifest } from '../../compiler/package/manifest.ts';
import { parseManifest } from '../../compiler/package/manifest.ts';
import type { Plan } from '../../compiler/package/plan-format.ts';
import { isCollective, PLAN_FORMAT } from '../../compiler/package/plan-format.ts';
import { checkLogitsRows } from '../../compiler/package/sampler-instance.ts';

const CONFIGS = ['tiny-moe-128', 'tiny-noqlora', 'tiny-bf16-dense1', 'tiny-v3-offgrid', 'deepseek-v3'];

describe.each(CONFIGS)('package of %s', (name) => {
  const config = loadConfig(`configs/${name}.json`);
  const phases = compileModel(config, { actQuant: 'fp8', disabledPasses: [] });
  const files = generatePackage(config, phases, { model: name, dialect: dialectFor('cpu'), actQuant: 'fp8', disabledPasses: [] });
  const plan = JSON.parse(files.get('plan.json')!) as Plan;
  const manifest = parseManifest(JSON.parse(files.get('manifest.json')!) as Manifest);

  it('plans every kernel of every phase against buffers that exist and are alive', () => {
    expect(plan.phases.map((p) => p.phase)).toEqual(['prefill', 'decode']);
    for (const phase of plan.phases) {
      const inputs = new Set(phase.inputs.map((i) => i.name));
      const weights = new Set(phase.weights);
      const arena = new Map(phase.arena.map((a) => [a.id, a]));
      expect(phase.kernels.length).toBe(phases.find((p) => p.phase === phase.phase)!.schedule.kernels.length);
      phase.kernels.forEach((k, index) => {
        if (isCollective(k)) throw new Error(`a one-rank plan has no collectives, found ${k.op} in ${k.scope}`);
        const source = files.get(`kernels/${k.instance}.cc`);
        expect(source, k.instance).toBeDefined();
        // The header lists the parameters: pointers, then the symbols as int64.
        const declared = /\/\/ arguments: (.*)/.exec(source!)![1].split(', ');
        expect(declared.length, k.instance).toBe(k.args.length + k.symbols.length);
        for (const a of k.args) {
          if ('input' in a.buffer) expect(inputs.has(a.buffer.input) || weights.has(a.buffer.input), a.buffer.input).toBe(true);
          else {
            const slot = arena.get(a.buffer.arena);
            expect(slot, `arena ${a.buffer.arena}`).toBeDefined();
            expect(index).toBeGreaterThanOrEqual(slot!.first);
            expect(index).toBeLessThanOrEqual(slot!.last);
          }
          expect(a.offset).toBeGreaterThanOrEqual(0);
        }
        for (const bindings of [{ T: 1, B: 1, S: 1 }, { T: 37, B: 5, S: 64 }]) {
          for (const g of k.grid) expect(evalExpr(g, bindings)).toBeGreaterThanOrEqual(1);
        }
      });
      expect(phase.outputs.map((o) => o.name)).toContain('logits');
    }
  });

  it('has a sampler: the sample instance for f32 [B, vocab] logits rows, rendered and in tuning.json', () => {
    expect(plan.format).toBe(PLAN_FORMAT);
    const { sampler } = plan;
    expect(sampler.vocab).toBe(config.vocabSize);
    expect(sampler.instance).toMatch(/^sample__/);
    expect(sampler.symbols).toEqual(['B']);
    const source = files.get(`kernels/${sampler.instance}.cc`);
    expect(source, sampler.instance).toBeDefined();
    // logits, temperature, top_p, uniform, ids, then B.
    expect(/\/\/ arguments: (.*)/.exec(source!)![1].split(', ').length).toBe(5 + sampler.symbols.length);
    for (const B of [1, 5]) for (const g of sampler.grid) expect(evalExpr(g, { B })).toBeGreaterThanOrEqual(1);
    for (const phase of plan.phases) {
      const logits = phase.outputs.find((o) => o.name === 'logits')!;
      expect([logits.dtype, logits.shape[1]]).toEqual(['f32', sampler.vocab]);
    }
    expect(() => checkLogitsRows(phases, sampler.vocab + 1)).toThrow(/the sampler reads f32 \[rows, /);
    const tuning = JSON.parse(files.get('tuning.json')!) as { instances: Record<string, { family: string }> };
    expect(tuning.instances[sampler.instance]?.family).toBe('sample');
  });

  it('has a manifest with every weight the plans read, made from tensors the checkpoint holds', () => {
    const weights = new Map(manifest.weights.map((w) => [w.name, w]));
    for (const phase of plan.phases) for (const w of phase.weights) expect(weights.has(w), w).toBe(true);
    const expected = new Map(checkpointTensors(config).map((t) => [t.name, t]));
    const sources = manifest.sources.flatMap((g) => g.names.map((n) => ({ name: n, dtype: g.dtype, shape: g.shape })));
    for (const s of sources) {
      expect(expected.get(s.name)?.shape, s.name).toEqual(s.shape);
      expect(expected.get(s.name)?.dtype, s.name).toBe(s.dtype);
    }
    const named = new Set(sources.map((s) => s.name));
    for (const w of manifest.weights) for (const s of w.recipe?.sources ?? [w.checkpoint!]) expect(named.has(s), s).toBe(true);
    expect(manifest.totalBytes).toBe(manifest.weights.reduce((a, w) => a + w.bytes, 0));
  });
});

describe.each([
  ['deepseek-v3', { tp: 8, ep: 1 }],
  ['deepseek-v3', { tp: 2, ep: 8 }],
  ['tiny-tp2', { tp: 1, ep: 2 }],
] as const)('mesh package of %s over %o', (name, mesh) => {
  const config = loadConfig(`configs/${name}.json`);
  const phases = compileModel(config, { actQuant: 'fp8', disabledPasses: [], mesh });
  const files = generatePackage(config, phases, { model: name, dialect: dialectFor('cpu'), actQuant: 'fp8', disabledPasses: [], mesh });
  const plan = JSON.parse(files.get('plan.json')!) as Plan;
  const manifest = parseManifest(JSON.parse(files.get('manifest.json')!) as Manifest);

  it('places each collective between kernels on buffers alive there: the embedding, attention and dense MLPs over tp, the MoE layer over every rank, the head gathered', () => {
    expect(plan.mesh).toEqual(mesh);
    expect(manifest.mesh).toEqual(mesh);
    const moeLayers = config.numLayers - config.firstKDenseReplace;
    for (const phase of plan.phases) {
      const arena = new Map(phase.arena.map((a) => [a.id, a]));
      const collectives = phase.kernels.flatMap((step, index) => (isCollective(step) ? [{ step, index }] : []));
      const count = (op: string, group: string) => collectives.filter((c) => c.step.op === op && c.step.group === group).length;
      expect(count('all_reduce', 'tp')).toBe(mesh.tp > 1 ? 1 + config.numLayers + config.firstKDenseReplace : 0); // the embedding, attention, dense MLPs
      expect(count('all_reduce', 'world')).toBe(moeLayers);
      expect(count('all_gather', 'tp')).toBe(mesh.tp > 1 ? 1 : 0);
      for (const { step, index } of collectives) {
        expect(step.ranks).toBe(step.group === 'world' ? mesh.tp * mesh.ep : mesh.tp);
        for (const a of step.args) {
          if (!('arena' in a.buffer)) throw new Error(`${step.op} in ${step.scope} reads or writes ${JSON.stringify(a.buffer)}, expected the arena`);
          const slot = arena.get(a.buffer.arena)!;
          expect(index).toBeGreaterThanOrEqual(slot.first);
          expect(index).toBeLessThanOrEqual(slot.last);
        }
      }
    }
  });

  it('lists every checkpoint tensor a rank may read, whole, and each weight at a rank\'s shape', () => {
    const listed = new Map(manifest.sources.flatMap((g) => g.names.map((n) => [n, g.shape] as const)));
    const experts = checkpointTensors(config).filter((t) => t.expert !== undefined && t.layer !== null && t.layer < config.numLayers);
    for (const t of experts) expect(listed.get(t.name), t.name).toEqual(t.shape);
    const stack = manifest.weights.find((w) => w.name.endsWith('experts.down.weight'))!;
    expect(stack.shape[0]).toBe(config.nRoutedExperts / mesh.ep + (mesh.ep === 1 && config.nSharedExperts === 1 ? 1 : 0));
    expect(stack.recipe!.sources.length).toBe(config.nRoutedExperts + (mesh.ep === 1 && config.nSharedExperts === 1 ? 1 : 0));
  });
});
