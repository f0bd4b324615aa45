import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { publishedTable } from '../support/published-table.ts';

// The JSON report lists every tensor's count: tens of megabytes for DeepSeek-V3.
const maxBuffer = 256 * 1024 * 1024;

function dsv3c(...args: string[]) {
  return spawnSync(process.execPath, ['bin/dsv3c.js', ...args], { encoding: 'utf8', maxBuffer });
}

describe('dsv3c inspect', () => {
  it('reports DeepSeek-V3 as published', () => {
    const out = execFileSync(process.execPath, ['bin/dsv3c.js', 'inspect', '--config', 'configs/deepseek-v3.json', '--json'], { encoding: 'utf8', maxBuffer });
    const r = JSON.parse(out);
    const table = publishedTable();
    expect(r.parameters.total).toBe(table.total);
    for (const [name, n] of table.rows) expect({ name, n: r.parameters.byTensor[`model.${name}`] }).toEqual({ name, n });
    expect(r.parameters.mtp).toBe(13463426304);
    expect(Math.abs(r.parameters.activePerToken / 37.5e9 - 1)).toBeLessThan(0.01);
    expect(r.kvCacheBytesPerToken.absorbedLatentBf16).toBe(70272);
    expect(r.kvCacheBytesPerToken.expandedBf16).toBe(61 * 128 * (192 + 128) * 2);
    expect(r.layers).toEqual({ total: 61, dense: 3, moe: 58, mtp: 1 });
    // FP8 weights: one byte per linear parameter; scales: one float per 128×128 block.
    expect(r.weightBytes.fp8).toBeGreaterThan(650e9);
    expect(r.weightBytes.fp8Scales / r.weightBytes.fp8).toBeCloseTo(4 / (128 * 128), 5);
    expect(r.mesh.fits).toBe(false);
    // A decode token multiplies by every active weight once (2 FLOPs each) plus attention over the context.
    const active = 2 * r.parameters.activePerTokenWithoutEmbedding;
    expect(r.decodeFlopsPerToken.total / active).toBeGreaterThan(1);
    expect(r.decodeFlopsPerToken.byOp.mla_absorbed_attention).toBe(61 * 2 * 128 * 4096 * (512 + 64 + 512));
  });

  it('sizes a mesh per rank', () => {
    const r = JSON.parse(dsv3c('inspect', '--config', 'configs/deepseek-v3.json', '--json', '--mesh', 'tp=8,ep=8', '--context', '32768').stdout);
    expect(r.mesh.ranks).toBe(64);
    expect(r.mesh.kvBytesPerRank).toBe(70272 * 32768);
    expect(r.mesh.weightBytesPerRank).toBeLessThan(r.weightBytes.total / 40);
    expect(r.mesh.fits).toBe(true);
    // It fits, but 64 ranks cut the shared expert's FP8 blocks: inspect says compile would refuse it, and why.
    expect(r.mesh.compileRefusal).toMatch(/moe_intermediate_size × n_shared_experts \/ 64 ranks/);
    const ok = JSON.parse(dsv3c('inspect', '--config', 'configs/deepseek-v3.json', '--json', '--mesh', 'tp=2,ep=8').stdout);
    expect(ok.mesh.compileRefusal).toBeNull();
    expect(dsv3c('inspect', '--config', 'configs/deepseek-v3.json', '--mesh', 'tp=2,ep=8').stdout).toMatch(/compiles +yes/);
  });

  it('rejects a mesh that does not divide the model, naming the field', () => {
    const r = dsv3c('inspect', '--config', 'configs/deepseek-v3.json', '--mesh', 'tp=3');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/tp=3 does not divide num_attention_heads \(128\)/);
    const ep = dsv3c('inspect', '--config', 'configs/deepseek-v3.json', '--mesh', 'ep=7');
    expect(ep.stderr).toMatch(/ep=7 does not divide n_routed_experts \(256\)/);
    const bad = dsv3c('inspect', '--config', 'configs/deepseek-v3.json', '--mesh', 'pp=2');
    expect(bad.stderr).toMatch(/"pp=2" is not tp=N or ep=N/);
  });

  it('prints a readable report and a clean error for a bad config', () => {
    const ok = dsv3c('inspect', '--config', 'configs/tiny-moe-128.json');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/KV cache\/token/);
    const missing = dsv3c('inspect', '--config', 'configs/nope.json');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^dsv3c: configs\/nope\.json/);
    expect(missing.stderr).not.toMatch(/at .*\.ts:\d+/);
  });
});
