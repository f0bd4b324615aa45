import { bf16BitsOfFloat64, decodeBF16 } from '../../../compiler/checkpoint/bf16.ts';
import type { CollectiveOperands } from './executor.ts';

/**
 * Collectives between ranks whose memory the host can read and write: the cpu target's
 * in-process mesh. all_reduce sums the ranks' operands in float64, in rank order, and rounds once
 * to the operand's dtype (bf16 or f32), as a reduction that accumulates in fp32 would up to that
 * last rounding; all_gather places rank r's [rows, C] at columns r·C of every rank's result.
 */
export function runHostCollective(ranks: readonly CollectiveOperands[]): void {
  const { collective, rows, columns } = ranks[0];
  if (ranks.length !== collective.ranks) throw new Error(`${collective.op} in ${collective.scope}: ${ranks.length} ranks took part, the plan has ${collective.ranks}`);
  const dtype = collective.args[0].dtype;
  const width = ELEMENT_BYTES[dtype];
  if (!width) throw new Error(`${collective.op} in ${collective.scope}: no host collective for ${dtype}`);
  const bytes = rows * columns * width;
  const inputs = ranks.map((r) => {
    const buffer = new Uint8Array(bytes);
    r.input.memory.read(buffer, r.input.byteOffset);
    return buffer;
  });
  let result: Uint8Array;
  if (collective.op === 'all_gather') {
    const row = columns * width;
    result = new Uint8Array(bytes * ranks.length);
    inputs.forEach((x, r) => {
      for (let i = 0; i < rows; i++) result.set(x.subarray(i * row, (i + 1) * row), (i * ranks.length + r) * row);
    });
  } else {
    result = sum(inputs, dtype, rows * columns);
  }
  for (const r of ranks) r.output.memory.write(result, r.output.byteOffset);
}

const ELEMENT_BYTES: Readonly<Record<string, number>> = { bf16: 2, f32: 4 };

function sum(inputs: readonly Uint8Array[], dtype: string, count: number): Uint8Array {
  const total = new Float64Array(count);
  for (const x of inputs) {
    if (dtype === 'bf16') {
      const bits = new Uint16Array(x.buffer, x.byteOffset, count);
      for (let i = 0; i < count; i++) total[i] += decodeBF16(bits[i]);
    } else {
      const values = new Float32Array(x.buffer, x.byteOffset, count);
      for (let i = 0; i < count; i++) total[i] += values[i];
    }
  }
  if (dtype === 'bf16') return new Uint8Array(Uint16Array.from(total, bf16BitsOfFloat64).buffer);
  return new Uint8Array(Float32Array.from(total).buffer);
}
