/**
 * Everything of the GPU bundle that is not the JS bundle, the addon or Node (scripts/gpu-bundle.sh
 * adds those): configs, cuda sm_90a packages built here with nvcc (the tiny configs in both modes,
 * DeepSeek-V3 for timing), make-tiny checkpoints, our peer kernels' cubin, the PyTorch peer
 * scripts, and bundle.json. Kernel binaries come from the shared build cache ($DSV3C_CACHE_DIR),
 * so a second bundle compiles nothing.
 *
 *   npx tsx benchmarks/gpu-check/prepare.ts [--out .gpu]
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTinyCheckpoint } from '../../compiler/checkpoint/make-tiny.ts';
import { cudaDialect } from '../../compiler/codegen/dialect.ts';
import { kernelCompiler } from '../../compiler/codegen/find-tool.ts';
import { compileModel } from '../../compiler/compile-model.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { buildPackageKernels } from '../../compiler/package/build-kernels.ts';
import { generatePackage } from '../../compiler/package/generate-package.ts';
import { writePackage } from '../../compiler/package/write-package.ts';
import { compileBoth, samplesOf } from '../../test/codegen/support.ts';
import { hashFiles, SHIP_LIMIT_BYTES } from './checkpoints.ts';
import type { BundleManifest, CheckpointEntry } from './layout.ts';
import { ARCH, BUNDLE_FORMAT, bundlePlan, listFiles, TIMED_CONFIG, TINY_SEED, tinyConfigNames } from './layout.ts';

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export async function prepareBundle(out: string, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<BundleManifest> {
  const plan = bundlePlan('configs');
  for (const sub of ['configs', 'packages', 'checkpoints', 'peers']) rmSync(join(out, sub), { recursive: true, force: true });
  mkdirSync(join(out, 'configs'), { recursive: true });
  for (const c of plan.configs) copyFileSync(`configs/${c}.json`, join(out, 'configs', `${c}.json`));

  const dialect = cudaDialect(ARCH);
  const cubins: Record<string, string> = {};
  for (const p of plan.packages) {
    const started = Date.now();
    const config = loadConfig(`configs/${p.config}.json`);
    const phases = compileModel(config, { actQuant: p.mode, disabledPasses: [] });
    const dir = join(out, p.dir);
    writePackage(dir, generatePackage(config, phases, { model: p.config, dialect, actQuant: p.mode, disabledPasses: [] }));
    const built = await buildPackageKernels(dir);
    // The runtime reads plan.json, manifest.json and build/: the sources and index.ts stay here.
    // The full model is only timed kernel by kernel (its instances come from compiling it there).
    const keep = p.config === TIMED_CONFIG ? ['build'] : ['build', 'plan.json', 'manifest.json', 'package.json'];
    for (const f of readdirSync(dir)) if (!keep.includes(f)) rmSync(join(dir, f), { recursive: true, force: true });
    for (const f of readdirSync(join(dir, 'build')).filter((f) => f.endsWith('.cubin'))) cubins[f.slice(0, -'.cubin'.length)] ??= `${p.dir}/build/${f}`;
    log(`package ${p.dir}: ${built.kernels} kernels (${built.compiled} compiled, ${built.cached} cached) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  const checkpoints: CheckpointEntry[] = [];
  for (const c of plan.checkpoints) {
    const file = `configs/${c.config}.json`;
    const dir = join(out, c.dir);
    await makeTinyCheckpoint(loadConfig(file), dir, { seed: TINY_SEED, shards: 2, configText: readFileSync(file, 'utf8') });
    const bytes = listFiles(dir).totalBytes;
    const shipped = bytes <= SHIP_LIMIT_BYTES;
    checkpoints.push({ ...c, shipped, bytes, sha256: hashFiles(dir) });
    if (!shipped) rmSync(dir, { recursive: true, force: true });
  }
  log(`checkpoints (seed ${TINY_SEED}): ${checkpoints.map((c) => `${c.config} ${(c.bytes / 2 ** 20).toFixed(1)} MiB${c.shipped ? '' : ' (made again there, checked by sha256)'}`).join(', ')}`);

  // The kernel check's instances must all be among the packages' binaries (the same planKernels).
  const samples = samplesOf(tinyConfigNames('configs').map((c) => `${c}.json`).flatMap((c) => compileBoth(c)), dialect);
  const missing = samples.filter((s) => !cubins[s.instance.name]).map((s) => s.instance.name);
  if (missing.length > 0) throw new Error(`kernel check instances without a cubin in the packages: ${missing.join(', ')}`);

  const nvcc = kernelCompiler('cuda');
  mkdirSync(join(out, 'peers'), { recursive: true });
  execFileSync(nvcc, ['-cubin', '-O3', `-gencode=arch=compute_90a,code=${ARCH}`, '-o', join(out, 'peers', 'peers.cubin'), 'benchmarks/gpu-check/peers.cu'], { stdio: ['ignore', 'inherit', 'inherit'] });
  for (const f of readdirSync('benchmarks/peers').filter((f) => f.endsWith('.py'))) copyFileSync(join('benchmarks/peers', f), join(out, 'peers', f));

  const status = git(['status', '--porcelain', '--', '.', ':!.gpu']);
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    createdAt: new Date().toISOString(),
    commit: git(['rev-parse', 'HEAD']) || 'unknown',
    dirty: status !== '',
    arch: ARCH,
    tinySeed: TINY_SEED,
    nodeVersion: process.version,
    plan,
    cubins,
    kernelCheckInstances: samples.map((s) => s.instance.name),
    checkpoints,
  };
  writeFileSync(join(out, 'bundle.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  log(`bundle.json: commit ${manifest.commit.slice(0, 12)}${manifest.dirty ? ' (working tree dirty)' : ''}, ${Object.keys(cubins).length} cubins, ${samples.length} kernel-check instances`);
  return manifest;
}

const isMain = process.argv[1] !== undefined && /prepare\.ts$/.test(process.argv[1]);
if (isMain) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out');
  const out = at >= 0 ? args[at + 1] : '.gpu';
  if (!existsSync('configs') || !existsSync('benchmarks/gpu-check')) throw new Error('run from the repository root');
  await prepareBundle(out);
}
