/**
 * The cpu target end to end: every distinct cpu instance of the tiny configs (prefill and decode,
 * W8A8 and W8A16) is rendered into one translation unit, built into one shared library with the
 * system c++, loaded through the native addon and run on fresh random inputs; each output is
 * compared with the op's float64 reference (getOp(op).reference) at the bound its dtype allows
 * (support.ts compare). Strided views get memory laid out as the view says, so a kernel that
 * ignores a stride reads the wrong numbers.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CPU_DIALECT } from '../../compiler/codegen/dialect.ts';
import { argv, buildCommand } from '../../compiler/codegen/build.ts';
import { renderModule } from '../../compiler/codegen/render.ts';
import type { CpuBuffer, CpuContext, CpuModule, NativeAddon } from '../../runtime/src/native/addon-types.ts';
import { loadAddon } from '../../runtime/src/native/load-addon.ts';
import { tempDir } from '../native/native-support.ts';
import type { Backend } from './harness.ts';
import { runSample } from './harness.ts';
import { samplesOf, tinyPhases } from './support.ts';

const samples = samplesOf(tinyPhases(), CPU_DIALECT);

let addon: NativeAddon;
let context: CpuContext;
let module: CpuModule;

beforeAll(() => {
  const dir = tempDir('codegen-cpu');
  const source = path.join(dir, 'kernels.cc');
  writeFileSync(source, renderModule(samples.map((s) => s.instance), CPU_DIALECT, 'tiny-*'));
  const lib = path.join(dir, 'libkernels.so');
  const started = Date.now();
  const cmd = buildCommand(CPU_DIALECT, 'loadable');
  execFileSync(cmd.tool, argv(cmd, source, lib), { stdio: ['ignore', 'inherit', 'inherit'] });
  console.log(`cpu kernels: ${samples.length} instances built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  addon = loadAddon();
  context = new addon.cpu.Context();
  module = new addon.cpu.Module(context, lib);
}, 180_000);

const cpu: Backend = {
  alloc: (bytes) => new addon.cpu.Buffer(context, bytes),
  launch(inst, grid, buffers, symbols) {
    const kernel = new addon.cpu.Kernel(module, inst.name);
    kernel.launch({ blocks: grid[0] * grid[1] * grid[2], args: [...(buffers as CpuBuffer[]), ...symbols] });
    kernel.dispose();
  },
};

describe('cpu kernels of the tiny configs match the op references', () => {
  it('covers every family the tiny schedules use, each instance once', () => {
    expect(samples.length).toBeGreaterThan(0);
    expect(new Set(samples.map((s) => s.instance.name)).size).toBe(samples.length);
  });

  it.each(samples.map((s) => [`${s.instance.family.name} (${s.label})`, s] as const))('%s', (_, sample) => {
    const seed = (Math.random() * 2 ** 32) >>> 0;
    expect(runSample(sample, cpu, seed), `${sample.instance.name} with seed ${seed}`).toEqual([]);
  });
});
