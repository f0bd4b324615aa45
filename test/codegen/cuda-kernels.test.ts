/**
 * The cpu-kernels test on a CUDA device: every CUDA instance of the tiny configs built into one
 * cubin for the device's architecture (sm_90a for compute capability 9.0, sm_80 for 8.x), loaded
 * through the addon's cuda backend and run against the same op references, inputs and bounds
 * (harness.ts). Skipped, visibly, where probe() finds no CUDA device or nvcc is absent.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dialect } from '../../compiler/codegen/dialect.ts';
import { cudaDialect } from '../../compiler/codegen/dialect.ts';
import { argv, buildCommand } from '../../compiler/codegen/build.ts';
import { renderModule } from '../../compiler/codegen/render.ts';
import type { GpuBuffer, GpuContext, GpuModule } from '../../runtime/src/native/addon-types.ts';
import { loadAddon } from '../../runtime/src/native/load-addon.ts';
import { KernelArgPacker } from '../../runtime/src/native/pack-args.ts';
import { tempDir } from '../native/native-support.ts';
import type { Backend } from './harness.ts';
import { runSample } from './harness.ts';
import { samplesOf, tinyPhases } from './support.ts';
import { NVCC } from './toolchains.ts';

const addon = loadAddon();
const probe = addon.probe().cuda;
const cc = probe.available ? probe.devices?.[0]?.computeCapability : undefined;
const dialect: Dialect | null = cc === '9.0' ? cudaDialect('sm_90a') : cc?.startsWith('8.') ? cudaDialect('sm_80') : null;
const skip = !probe.available
  ? `no CUDA device: ${probe.error ?? 'probe found none'}`
  : !NVCC
    ? 'nvcc is absent'
    : !dialect
      ? `no dialect for compute capability ${cc}`
      : '';

if (skip) describe('CUDA kernels of the tiny configs', () => it.skip(`skipped: ${skip}`, () => {}));

describe.skipIf(skip !== '')('CUDA kernels of the tiny configs match the op references', () => {
  const samples = dialect ? samplesOf(tinyPhases(), dialect) : [];
  let context: GpuContext;
  let module: GpuModule;

  beforeAll(() => {
    const dir = tempDir('codegen-cuda-run');
    const source = path.join(dir, 'kernels.cu');
    writeFileSync(source, renderModule(samples.map((s) => s.instance), dialect!, 'tiny-*'));
    const cubin = path.join(dir, 'kernels.cubin');
    execFileSync(NVCC!, argv(buildCommand(dialect!, 'loadable', NVCC!), source, cubin), { stdio: ['ignore', 'inherit', 'inherit'] });
    context = new addon.cuda.Context(0);
    module = new addon.cuda.Module(context, cubin);
  }, 600_000);

  const cuda: Backend = {
    alloc: (bytes) => new addon.cuda.Buffer(context, bytes),
    launch(inst, grid, buffers, symbols) {
      const kernel = new addon.cuda.Kernel(module, inst.name);
      const args = new KernelArgPacker();
      for (const b of buffers) args.ptr((b as GpuBuffer).address);
      for (const s of symbols) args.i64(BigInt(s));
      kernel.launch({ grid, block: [...inst.launch.block], sharedMemBytes: inst.launch.sharedBytes, args: args.bytes() });
      context.synchronize();
      kernel.dispose();
    },
  };

  it.each(samples.map((s) => [`${s.instance.family.name} (${s.label})`, s] as const))('%s', (_, sample) => {
    const seed = (Math.random() * 2 ** 32) >>> 0;
    expect(runSample(sample, cuda, seed), `${sample.instance.name} with seed ${seed}`).toEqual([]);
  });
});
