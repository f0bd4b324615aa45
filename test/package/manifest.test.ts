/**
 * manifest.json is built from name runs (recipes carry them) and looks up only the ends of each
 * run in the checkpoint: checked here against the plain way, every name spelled out and looked
 * up, for expert counts that make runs and counts too small to (fewer than three experts: the
 * recipes list single names, which the manifest must still find and group).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../compiler/compile-model.ts';
import { parseConfig } from '../../compiler/config/parse-config.ts';
import { expandNames } from '../../compiler/ir/name-runs.ts';
import { checkpointTensors } from '../../compiler/model/checkpoint-tensors.ts';
import { buildManifest, manifestFile } from '../../compiler/package/manifest.ts';

const base = JSON.parse(readFileSync('configs/tiny-moe-128.json', 'utf8')) as Record<string, unknown>;

describe.each([
  { experts: 8, group: 4, topkGroup: 2, topk: 3 },
  { experts: 2, group: 1, topkGroup: 1, topk: 1 },
])('the manifest of tiny-moe-128 with $experts routed experts', ({ experts, group, topkGroup, topk }) => {
  const config = parseConfig({ ...base, n_routed_experts: experts, n_group: group, topk_group: topkGroup, num_experts_per_tok: topk });
  const graphs = compileModel(config, { actQuant: 'fp8', disabledPasses: [] }).map((p) => p.schedule.graph);
  const manifest = buildManifest(config, graphs);

  it('lists every tensor the weights read, grouped by dtype and shape, each group in checkpoint order', () => {
    const tensors = checkpointTensors(config);
    const order = new Map(tensors.map((t, i) => [t.name, i]));
    const read = new Set(manifest.weights.flatMap((w) => (w.recipe ? w.recipe.sources : [w.checkpoint!])));
    const want = new Map<string, string[]>();
    for (const t of tensors) if (read.has(t.name)) (want.get(`${t.dtype}[${t.shape}]`) ?? want.set(`${t.dtype}[${t.shape}]`, []).get(`${t.dtype}[${t.shape}]`)!).push(t.name);
    const got = new Map(manifest.sources.map((g) => [`${g.dtype}[${g.shape}]`, g.names]));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [key, names] of got) {
      expect([...names].sort((a, b) => order.get(a)! - order.get(b)!), key).toEqual(want.get(key));
      expect(names, key).toEqual(want.get(key));
    }
  });

  it('writes recipe sources as runs only where three or more experts make one', () => {
    const file = manifestFile(config, graphs);
    const stacks = file.weights.filter((w) => w.recipe?.kind === 'stack');
    expect(stacks.length).toBeGreaterThan(0);
    for (const w of stacks) {
      const runs = w.recipe!.sources.filter((s) => typeof s !== 'string');
      expect(runs.length, w.name).toBe(experts >= 3 ? 1 : 0);
      expect(expandNames(w.recipe!.sources)).toEqual(manifest.weights.find((m) => m.name === w.name)!.recipe!.sources);
    }
  });
});
