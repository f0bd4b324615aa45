/**
 * `dsv3c compile --mesh` and `dsv3c run --mesh`: tensor- and expert-parallel packages compiled and
 * run as ranks in one process on the cpu target, and the meshes they refuse (exit 2, naming the
 * flag and the config field).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { runPackageDir } from '../../compiler/package/cached-package.ts';
import { tempFolder } from '../checkpoint/helpers.ts';
import { dsv3c } from '../package/support.ts';
import { readDump } from './run-support.ts';

const CONFIG = 'configs/tiny-tp2.json';
const tmp = tempFolder('run-mesh');
const model = join(tmp.dir, 'tiny');
const cache = join(tmp.dir, 'cache');

beforeAll(async () => {
  process.env.DSV3C_CACHE_DIR = cache;
  const r = await dsv3c('make-tiny', '--config', CONFIG, '--out', model, '--seed', '5');
  expect(r.status, r.stderr).toBe(0);
});
afterAll(() => {
  delete process.env.DSV3C_CACHE_DIR;
  tmp.cleanup();
});

describe('a tensor-parallel mesh from the CLI', () => {
  it('run --mesh tp=2 compiles the mesh package into its own cache folder and generates as two ranks', async () => {
    const dump = join(tmp.dir, 'mesh-logits.json');
    const r = await dsv3c('run', '--model', model, '--mesh', 'tp=2', '--prompt-ids', '3,1,4,1,5', '--max-new-tokens', '6', '--act-quant', 'none', '--dump-logits', dump);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/compiling tiny for cpu host \(none, tp=2,ep=1\)/);
    expect(r.stderr).toMatch(/loading weights: 100%/);
    expect(r.stderr).toMatch(/5 prompt tokens, 6 generated tokens .* on cpu \(\d+ threads\) × 2 ranks \(tp=2,ep=1\); greedy/);
    const dir = runPackageDir(loadConfig(CONFIG), { cacheDir: cache, actQuant: 'none', mesh: { tp: 2, ep: 1 } });
    expect(dir).toMatch(/cpu-host-none-tp2-ep1-[0-9a-f]{16}$/);
    expect(existsSync(join(dir, 'build', 'build.json'))).toBe(true);
    const logits = readDump(dump);
    expect(logits.prompt_logits).toHaveLength(5);
    expect(logits.prompt_logits[0]).toHaveLength(loadConfig(CONFIG).vocabSize);
    expect(logits.generated_ids).toHaveLength(6);
    expect(r.stdout.length).toBeGreaterThan(1); // the tokens as text, then a newline
  }, 300_000);

  it('run --mesh ep=2 splits the routed experts over two ranks and generates', async () => {
    const r = await dsv3c('run', '--model', model, '--mesh', 'ep=2', '--prompt-ids', '3,1,4,1,5', '--max-new-tokens', '4', '--act-quant', 'none');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/compiling tiny for cpu host \(none, tp=1,ep=2\)/);
    expect(r.stderr).toMatch(/5 prompt tokens, 4 generated tokens .* × 2 ranks \(tp=1,ep=2\); greedy/);
  }, 300_000);

  it('compile --mesh says what each rank runs, and refuses a mesh that cuts FP8 blocks or does not divide', async () => {
    const ok = await dsv3c('compile', '--config', 'configs/deepseek-v3.json', '--mesh', 'tp=8');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/decode: \d+ ops → \d+ after fusion, \d+ kernels, \d+ per dense layer, 18 per MoE layer on each of 8 ranks \(tp=8,ep=1\)/);
    const ep = await dsv3c('compile', '--config', 'configs/deepseek-v3.json', '--mesh', 'ep=8');
    expect(ep.status, ep.stderr).toBe(0);
    expect(ep.stderr).toMatch(/on each of 8 ranks \(tp=1,ep=8\)/);
    const cut = await dsv3c('compile', '--config', 'configs/tiny-moe-128.json', '--mesh', 'tp=2', '--target', 'cpu', '--out', join(tmp.dir, 'never'));
    expect(cut.status).toBe(2);
    expect(cut.stderr).toMatch(/mesh tp=2,ep=1: each rank holds 224 rows \(kv_b_proj's num_attention_heads\/2 = 1 heads/);
    expect(existsSync(join(tmp.dir, 'never'))).toBe(false);
    const shared = await dsv3c('compile', '--config', 'configs/deepseek-v3.json', '--mesh', 'tp=8,ep=8');
    expect(shared.status).toBe(2);
    expect(shared.stderr).toMatch(/each rank holds 32 rows \(moe_intermediate_size × n_shared_experts \/ 64 ranks\)/);
  }, 120_000);

  it('run refuses --mesh that does not divide the model, on a GPU, or beside --package, before loading anything', async () => {
    const before = existsSync(join(cache, 'packages')) ? readdirSync(join(cache, 'packages')).length : 0;
    const three = await dsv3c('run', '--model', model, '--mesh', 'tp=3', '--prompt-ids', '1,2');
    expect(three.status).toBe(2);
    expect(three.stderr).toMatch(/--mesh tp=3: mesh tp=3 does not divide num_attention_heads \(4\)/);
    const bad = await dsv3c('run', '--model', model, '--mesh', 'tp=two', '--prompt-ids', '1,2');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--mesh tp=two: .*expected tp=N/);
    const gpu = await dsv3c('run', '--model', model, '--mesh', 'tp=2', '--device', 'cuda', '--prompt-ids', '1,2');
    expect(gpu.status).toBe(2);
    expect(gpu.stderr).toMatch(/cpu target only so far/);
    const pkg = await dsv3c('run', '--model', model, '--mesh', 'tp=2', '--package', join(tmp.dir, 'any'), '--prompt-ids', '1,2');
    expect(pkg.status).toBe(2);
    expect(pkg.stderr).toMatch(/leave --mesh out with --package/);
    expect(existsSync(join(cache, 'packages')) ? readdirSync(join(cache, 'packages')).length : 0).toBe(before);
  }, 120_000);
});
