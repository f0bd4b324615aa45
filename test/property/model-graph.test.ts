import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { parseConfig } from '../../compiler/config/parse-config.ts';
import { expandNames } from '../../compiler/ir/name-runs.ts';
import { verify } from '../../compiler/ir/verify.ts';
import { buildModel } from '../../compiler/model/build-model.ts';
import { checkpointTensors } from '../../compiler/model/checkpoint-tensors.ts';
import { arbitraryRawConfig } from '../support/arbitrary-config.ts';

describe('model graph', () => {
  test.prop([arbitraryRawConfig, fc.constantFrom('prefill' as const, 'decode' as const)], { numRuns: 150 })(
    'verifies for random valid configs, with weights named as the checkpoint names them (or stacked from them)',
    (raw, phase) => {
      const config = parseConfig(raw, 'generated.json');
      const graph = buildModel(config, phase);
      verify(graph);
      const weights = graph.inputs.filter((i) => i.role === 'weight');
      const stored = new Map(checkpointTensors(config).map((t) => [t.name, t]));
      const read = new Set<string>();
      for (const w of weights) {
        // A routed expert projection is one stack [E, out, in] of the per-expert tensors.
        const sources = w.recipe ? expandNames(w.recipe.sources) : [w.name];
        if (w.recipe) expect(w.recipe.kind, w.name).toBe('stack');
        for (const name of sources) {
          const t = stored.get(name);
          expect(t, name).toBeDefined();
          expect(w.value.type.shape.slice(w.recipe ? 1 : 0)).toEqual(t!.shape);
          read.add(name);
        }
      }
      // Every main-model tensor is read by the graph; only the MTP module's are not (not run yet).
      const unread = [...stored.values()].filter((t) => !read.has(t.name) && t.module !== 'mtp');
      expect(unread.map((t) => t.name)).toEqual([]);
      expect(graph.outputs.map((o) => o.name)).toContain('logits');
    },
  );
});
