/**
 * Turning rows of logits into token ids: the package's `sample` kernel (plan.json's sampler)
 * launched on the logits where a step left them, so only the ids come back, not vocab-wide rows.
 * The kernel is held to the float64 definition of compiler/ir/ops/sample.ts. Each row takes one
 * uniform draw per step from its own seeded generator, so a sequence's draws depend only on its
 * own step count, not on its batch.
 */
import { evalExpr } from '../../compiler/codegen/expr.ts';
import type { Plan } from '../../compiler/package/plan-format.ts';
import type { Device, DeviceMemory } from './device/device.ts';
import { StepError } from './exec/capacity.ts';
import type { StepOutput } from './exec/executor.ts';
import type { SamplingRow } from './sampling/index.ts';
import { sampleInputs } from './sampling/index.ts';

export interface Sampler {
  /** Ids for logits rows first … first + rows.length - 1 of a step's output, one per sampling row. */
  sample(out: StepOutput, first: number, rows: readonly SamplingRow[]): number[];
  dispose(): void;
}

/**
 * The sampler kernel of `plan` loaded from its binary, with its own device buffers for up to
 * `maxBatch` rows: temperature, top_p and uniform (f32) in, ids (i32) out.
 */
export function deviceSampler(device: Device, plan: Plan, binaryOf: (instance: string) => string, maxBatch: number): Sampler {
  const spec = plan.sampler;
  const kernel = device.loadKernel(binaryOf(spec.instance), spec.instance);
  const owned: DeviceMemory[] = [];
  const dispose = () => {
    for (const m of owned.splice(0)) m.dispose();
  };
  let buffers: DeviceMemory[];
  try {
    buffers = ['temperature', 'top_p', 'uniform', 'ids'].map((what) => {
      const m = device.alloc(4 * maxBatch, `sampler ${what}`);
      owned.push(m);
      return m;
    });
  } catch (e) {
    dispose();
    throw e;
  }
  const [temperature, topP, uniform, ids] = buffers;
  const rowBytes = spec.vocab * 4;
  return {
    sample(out, first, rows) {
      const n = rows.length;
      if (n < 1 || n > maxBatch) throw new StepError(`sampling ${n} rows: expected 1 to ${maxBatch} (the sampler's maxBatch)`);
      if (!Number.isInteger(first) || first < 0 || first + n > out.logits.rows) {
        throw new StepError(`sampling logits rows ${first} to ${first + n - 1}: the step has rows 0 to ${out.logits.rows - 1}`);
      }
      const inputs = sampleInputs(rows);
      temperature.write(inputs.temperature);
      topP.write(inputs.topP);
      uniform.write(inputs.uniform);
      const env = Object.fromEntries(spec.symbols.map((s) => [s, n]));
      const grid = spec.grid.map((g) => evalExpr(g, env)) as [number, number, number];
      const logits = out.logits.memory.address + BigInt(out.logits.byteOffset + first * rowBytes);
      kernel.launch(grid, spec.block, spec.sharedBytes, [logits, temperature.address, topP.address, uniform.address, ids.address], spec.symbols.map(() => n));
      const picked = new Int32Array(n);
      ids.read(picked);
      return [...picked];
    },
    dispose,
  };
}
