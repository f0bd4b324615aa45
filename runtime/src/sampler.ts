/**
 * Turning rows of logits into token ids. The device sampler launches the package's `sample`
 * kernel on the logits where they are (no vocab-wide copy back per token); the host sampler reads
 * the rows and applies the same definition in float64 (compiler/ir/ops/sample.ts), for packages
 * compiled without a sampler. Both take one uniform draw per row per step from the row's seeded
 * generator, so a sequence's draws depend only on its own step count, not on its batch.
 */
import { sampleRow } from '../../compiler/ir/ops/sample.ts';
import type { StepOutput } from './exec/executor.ts';
import type { SamplingRow } from './sampling/index.ts';
import { sampleInputs } from './sampling/index.ts';

export interface Sampler {
  /** Ids for logits rows first … first + rows.length - 1 of a step's output, one per sampling row. */
  sample(out: StepOutput, first: number, rows: readonly SamplingRow[]): number[];
}

export function hostSampler(vocab: number): Sampler {
  return {
    sample(out, first, rows) {
      const inputs = sampleInputs(rows);
      const logits = new Float32Array(rows.length * vocab);
      out.logits.memory.read(logits, out.logits.byteOffset + first * vocab * 4);
      return rows.map((_, i) => sampleRow(logits.subarray(i * vocab, (i + 1) * vocab), inputs.temperature[i], inputs.topP[i], inputs.uniform[i]));
    },
  };
}
