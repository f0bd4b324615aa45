import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../compiler/ir/graph.ts';
import { formatAttrs, sameAttrs } from '../../compiler/ir/graph.ts';
import { tensorType } from '../../compiler/ir/types.ts';

describe('hash-consing helpers', () => {
  it('sameAttrs agrees with comparing canonical texts', () => {
    const records: Attrs[] = [
      {},
      { start: 0, size: 128 },
      { size: 128, start: 0 },
      { start: 128, size: 64 },
      { start: 0 },
      { shape: ['T', 16, 192] },
      { shape: ['T', 16, 192] },
      { shape: ['T', 16] },
      { shape: ['B', 16, 192] },
      { eps: 1e-6, residual: true },
      { eps: 1e-6, residual: false },
      { v: null },
      { v: NaN },
      { v: Infinity },
      { v: [NaN] },
      { v: [null as unknown as number] },
      { v: 'null' },
      { v: 0 },
      { v: -0 },
      { v: '0' },
      { v: [0] },
    ];
    for (const a of records) for (const b of records) expect(sameAttrs(a, b)).toBe(formatAttrs(a) === formatAttrs(b));
  });

  it('tensorType gives one frozen object per dtype and shape', () => {
    const t = tensorType('bf16', ['T', 7168]);
    expect(tensorType('bf16', ['T', 7168])).toBe(t);
    expect(Object.isFrozen(t) && Object.isFrozen(t.shape)).toBe(true);
    expect(tensorType('bf16', ['T'])).not.toBe(t);
    expect(tensorType('bf16', ['T', 7168, 1])).not.toBe(t);
    expect(tensorType('f32', ['T', 7168])).not.toBe(t);
    expect(tensorType('bf16', []).shape).toEqual([]);
    expect(tensorType('bf16', ['T', 7168, 1]).shape).toEqual(['T', 7168, 1]);
  });
});
