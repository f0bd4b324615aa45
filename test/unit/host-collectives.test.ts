import { describe, expect, it } from 'vitest';
import { decodeBF16, encodeBF16 } from '../../compiler/checkpoint/bf16.ts';
import type { PlanCollective } from '../../compiler/package/plan-format.ts';
import type { DeviceMemory } from '../../runtime/src/device/device.ts';
import type { CollectiveOperands } from '../../runtime/src/exec/executor.ts';
import { runHostCollective } from '../../runtime/src/exec/host-collectives.ts';

/** Host memory standing in for a rank's device buffer. */
function hostMemory(bytes: number): DeviceMemory & { bytes: Uint8Array } {
  const data = new Uint8Array(bytes);
  const view = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return {
    bytes: data,
    address: 0n,
    size: bytes,
    write: (v, at = 0) => data.set(view(v), at),
    read: (into, at = 0) => view(into).set(data.subarray(at, at + into.byteLength)),
    fill: (b) => data.fill(b),
    dispose: () => {},
  };
}

function collective(op: 'all_reduce' | 'all_gather', dtype: 'bf16' | 'f32', ranks: number): PlanCollective {
  const arg = { buffer: { arena: 1 }, offset: 0, dtype };
  return { collective: true, op, scope: 'layers.0.mlp', group: 'tp', ranks, args: [arg, arg], shape: [2, 3] };
}

/** Rank r's operand at byte 16 of its memory, the result at byte 64. */
function operands(c: PlanCollective, values: number[][], encode: (v: number[]) => Uint8Array): { ops: CollectiveOperands[]; memories: ReturnType<typeof hostMemory>[] } {
  const memories = values.map((v) => {
    const m = hostMemory(256);
    m.write(encode(v), 16);
    return m;
  });
  return { memories, ops: memories.map((memory) => ({ collective: c, input: { memory, byteOffset: 16 }, output: { memory, byteOffset: 64 }, rows: 2, columns: 3 })) };
}

const bf16 = (v: number[]) => new Uint8Array(Uint16Array.from(v, encodeBF16).buffer);
const f32 = (v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

describe('host collectives (the cpu mesh)', () => {
  it('all_reduce adds bf16 operands exactly and rounds the sum once', () => {
    // 1 + 2⁻⁸ + 2⁻⁸: each addend is bf16, the exact sum 1 + 2⁻⁷ is too; summing in bf16 step by step would tie to 1 and lose it.
    const c = collective('all_reduce', 'bf16', 3);
    const values = [[1, -2, 0.5, 3, 0, 7], [2 ** -8, 1, 0.25, -3, 0, 1], [2 ** -8, 1, 0.25, 1, 0, 0]];
    const { ops, memories } = operands(c, values, bf16);
    runHostCollective(ops);
    memories.forEach((m, r) => {
      expect(Array.from(new Uint16Array(m.bytes.buffer, 64, 6), decodeBF16)).toEqual([1 + 2 ** -7, 0, 1, 1, 0, 8]);
      expect(Array.from(new Uint16Array(m.bytes.buffer, 16, 6), decodeBF16)).toEqual(values[r]); // operands untouched
    });
  });

  it('all_gather puts rank r\'s columns at r·C of every row, on every rank', () => {
    const c = collective('all_gather', 'f32', 2);
    const { ops, memories } = operands(c, [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]], f32);
    runHostCollective(ops);
    for (const m of memories) expect(Array.from(new Float32Array(m.bytes.buffer, 64, 12))).toEqual([1, 2, 3, 7, 8, 9, 4, 5, 6, 10, 11, 12]);
  });

  it('refuses a group of another size than the plan says', () => {
    const c = collective('all_reduce', 'f32', 4);
    const { ops } = operands(c, [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]], f32);
    expect(() => runHostCollective(ops)).toThrow(/all_reduce in layers.0.mlp: 2 ranks took part, the plan has 4/);
  });
});
