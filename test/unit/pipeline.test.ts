import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../compiler/compile-model.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { tensorType } from '../../compiler/ir/types.ts';
import { kernelsPerLayer } from '../../compiler/passes/schedule.ts';

const v3 = loadConfig('configs/deepseek-v3.json');
const UNFUSED = ['rms_norm', 'silu', 'mul', 'dequant_fp8', 'dequant_act_fp8', 'add', 'sigmoid', 'topk_route', 'moe_experts'];

describe.each(['fp8', 'none'] as const)('DeepSeek-V3 after the pipeline (act-quant %s)', (actQuant) => {
  const phases = compileModel(v3, { actQuant, disabledPasses: [] });

  it.each(phases.map((p) => [p.phase, p] as const))('%s leaves no standalone norm, activation, multiply or dequant', (_, p) => {
    const left = p.schedule.kernels.filter((k) => UNFUSED.includes(k.op)).map((k) => `${k.op} in ${k.scope}`);
    expect(left).toEqual([]);
  });

  it('runs a decode MoE layer in at most 16 kernels', () => {
    const decode = phases.find((p) => p.phase === 'decode')!;
    const perLayer = kernelsPerLayer(decode.schedule);
    for (const layer of [3, 30, 60]) expect(perLayer.get(layer)!.length).toBeLessThanOrEqual(16);
    expect(perLayer.get(3)!.map((k) => k.op)).toContain('mla_absorbed_attention');
    expect(perLayer.get(3)!.map((k) => k.op)).toContain('grouped_gemm');
  });

  it('gives every value an interned type (the builder keeps the types ops infer as they are)', () => {
    for (const p of phases) {
      for (const graph of [p.model, ...p.run.steps.map((s) => s.graph)]) {
        for (const node of graph.nodes) for (const o of node.outputs) expect(tensorType(o.type.dtype, o.type.shape)).toBe(o.type);
      }
    }
  });

  it('keeps prefill attention expanded and makes decode attention absorbed', () => {
    const ops = (phase: string) => new Set(phases.find((p) => p.phase === phase)!.schedule.kernels.map((k) => k.op));
    expect(ops('prefill').has('mla_attention')).toBe(true);
    expect(ops('prefill').has('mla_absorbed_attention')).toBe(false);
    expect(ops('decode').has('mla_absorbed_attention')).toBe(true);
    expect(ops('decode').has('mla_attention')).toBe(false);
  });
});

describe('dsv3c compile', () => {
  const dsv3c = (...args: string[]) => spawnSync(process.execPath, ['bin/dsv3c.js', 'compile', ...args], { encoding: 'utf8' });

  it('writes a report with fusion counts, decode bytes and peak activation memory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsv3c-report-'));
    const file = join(dir, 'report.json');
    execFileSync(process.execPath, ['bin/dsv3c.js', 'compile', '--config', 'configs/deepseek-v3.json', '--report', file]);
    const report = JSON.parse(readFileSync(file, 'utf8'));
    const decode = report.phases.find((p: { phase: string }) => p.phase === 'decode');
    expect(decode.opsAfterFusion).toBeLessThan(decode.opsBeforeFusion);
    expect(decode.kvBytesPerTokenPerLayer).toBe(1152);
    expect(decode.kernelsPerMoeLayer.kernels).toBeLessThanOrEqual(16);
    expect(decode.kernelsPerDenseLayer.kernels).toBeGreaterThan(0);
    // One decode token reads the active weights once: about 37-39 GB for V3 (FP8, bf16 head, bf16 W_UK/W_UV).
    expect(decode.bytesPerDecodeToken.weights / 1e9).toBeGreaterThan(36);
    expect(decode.bytesPerDecodeToken.weights / 1e9).toBeLessThan(40);
    expect(decode.bytesPerDecodeToken.kv).toBeGreaterThanOrEqual(70272 * 4096);
    for (const p of report.phases) {
      const peak = p.peakActivationBytes;
      expect(peak['1']).toBeGreaterThan(0);
      expect(peak['64']).toBeGreaterThan(peak['1']);
      expect(peak['4096']).toBeGreaterThan(peak['64']);
    }
    // Deterministic: the committed output of `npm run compile` is what a fresh compile writes.
    expect(readFileSync(file, 'utf8')).toBe(readFileSync('generated/deepseek-v3/compile-report.json', 'utf8'));
  });

  it('dumps the IR after each pass and leaves out disabled passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsv3c-ir-'));
    const r = dsv3c('--config', 'configs/tiny-moe-128.json', '--dump-ir', dir, '--disable-pass', 'fuse-swiglu');
    expect(r.status).toBe(0);
    const files = readdirSync(join(dir, 'decode'));
    expect(files).toEqual(['00-model.txt', '01-lower-moe.txt', '02-absorb-mla.txt', '03-fuse-fp8-linear.txt', '04-fuse-rmsnorm.txt']);
    expect(readFileSync(join(dir, 'decode', '02-absorb-mla.txt'), 'utf8')).toMatch(/mla_absorbed_attention/);
  });

  it('refuses to package a graph that disabled passes left with ops no kernel implements, naming them, and writes nothing', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'dsv3c-unfused-')), 'pkg');
    const r = dsv3c('--config', 'configs/tiny-moe-128.json', '--target', 'cpu', '--out', out, '--disable-pass', 'fuse-swiglu');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^dsv3c: prefill: no cpu kernel implements mul, silu; the passes fuse them into kernels, and --disable-pass fuse-swiglu left them/m);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(out)).toBe(false);
  });

  it('rejects an unknown pass by name, listing the real ones', () => {
    const r = dsv3c('--config', 'configs/tiny-moe-128.json', '--disable-pass', 'fuse-everything');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--disable-pass fuse-everything: no such pass; the passes are lower-moe, absorb-mla/);
  });
});
