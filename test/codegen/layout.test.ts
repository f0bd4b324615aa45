/** The expression evaluator and view layouts that instances are built from. */
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../compiler/compile-model.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { evalExpr, namesIn } from '../../compiler/codegen/expr.ts';
import { contiguousStrides, layoutsOf, monoExpr, reshapeStrides } from '../../compiler/codegen/layout.ts';

describe('evalExpr', () => {
  it('computes as C does', () => {
    expect(evalExpr('(B + 3) / 4', { B: 9 })).toBe(3);
    expect(evalExpr('-7 / 2', {})).toBe(-3);
    expect(evalExpr('7 % 4 == 3 && !(2 > 3) || 0', {})).toBe(1);
    expect(evalExpr('x ? 10 : 20', { x: false })).toBe(20);
    expect(evalExpr('D * 4 <= 48 * 1024', { D: 7168 })).toBe(1);
    expect(evalExpr('1e-6 < 2.5', {})).toBe(1);
    expect(namesIn('(T + BM - 1) / BM')).toEqual(['T', 'BM']);
  });
  it('names what it cannot read', () => {
    expect(() => evalExpr('THREADS % 32', {})).toThrow(/unknown name THREADS/);
    expect(() => evalExpr('(1 + 2', {})).toThrow(/missing \)/);
    expect(() => evalExpr('1 $ 2', {})).toThrow(/cannot read/);
  });
});

describe('layouts', () => {
  it('keeps strides through a reshape of a column window', () => {
    // q [T, 24576] → [T, 128, 192] → slice 128..192 → [T, 128, 64]: strides [24576, 192, 1]
    const base = reshapeStrides(['T', 24576], contiguousStrides(['T', 24576]), ['T', 128, 192]);
    expect(base.map(monoExpr)).toEqual([24576, 192, 1]);
    // [T, 128, 128] (strides 24576, 192, 1) → [1, T, 128, 128]
    expect(reshapeStrides(['T', 128, 128], base, [1, 'T', 128, 128]).slice(1).map(monoExpr)).toEqual([24576, 192, 1]);
    expect(contiguousStrides(['B', 'S', 512]).map(monoExpr)).toEqual(['S*512', 512, 1]);
    expect(() => reshapeStrides(['T', 128, 64], base, ['T', 8192])).toThrow(/needs a copy/);
  });

  it('gives DeepSeek-V3 decode q_a its row stride inside the merged q_a+kv_a output', () => {
    const decode = compileModel(loadConfig('configs/deepseek-v3.json'), { actQuant: 'fp8', disabledPasses: [] })[1];
    const layouts = layoutsOf(decode.run.graph);
    const norm = decode.schedule.kernels.filter((k) => k.op === 'fused_rms_norm')[1]; // q_a_layernorm
    const l = layouts.get(norm.inputs[0])!;
    expect([l.offset, ...l.strides.map(monoExpr)]).toEqual([0, 2112, 1]);
    const kv = decode.schedule.kernels.find((k) => k.op === 'mla_kv_write')!;
    expect(layouts.get(kv.inputs[0])!.offset).toBe(1536);
  });
});
