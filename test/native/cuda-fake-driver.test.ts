/**
 * The CUDA backend without a GPU (fake-cuda.ts): the addon's whole CUDA path (dlopen,
 * cuGetProcAddress_v2 at the 12.0 ABI, primary context, module, packed-argument launch, buffers,
 * streams, events, error names via cuGetErrorName/String), and that dispose() and finalizers
 * release everything, in order. cuda-fake-program.test.ts checks Programs and CUDA graphs on the
 * same fake; cuda-abi.test.ts the prototypes against the real cuda.h; cuda-gpu.test.ts runs the
 * same saxpy on a real GPU where there is one.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import type { GpuContext, NativeAddon } from '../../runtime/src/native/addon-types.ts';
import { defaultAddonPath, probeInChildProcess } from '../../runtime/src/native/load-addon.ts';
import { CLEAN, fakeCubin, fakeDriver, openFakeCuda, runWithFakeDriver, saxpyArgs } from './fake-cuda.ts';
import { FIXTURES, buildSharedLibrary, tempDir } from './native-support.ts';

let addon: NativeAddon;
let context: GpuContext;

beforeAll(() => {
  ({ addon, context } = openFakeCuda());
});

describe('the CUDA backend against a fake driver', () => {
  it('probes the fake device', () => {
    expect(addon.probe().cuda).toEqual({
      available: true,
      driverVersion: 13000,
      devices: [{ name: 'dsv3c fake GPU', computeCapability: '9.0', totalMemBytes: 80 * 2 ** 30, smCount: 132 }],
    });
    expect(context.info().name).toBe('dsv3c fake GPU');
    expect(context.backend).toBe('cuda');
  });

  it('runs saxpy from a module with a packed argument buffer on a stream', () => {
    const n = 10_000;
    const x = Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
    const y = Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
    const a = Math.random() * 4 - 2;
    const module = new addon.cuda.Module(context, fakeCubin);
    const kernel = new addon.cuda.Kernel(module, 'saxpy');
    const stream = new addon.cuda.Stream(context);
    const xBuffer = new addon.cuda.Buffer(context, n * 4);
    const yBuffer = new addon.cuda.Buffer(context, n * 4);
    xBuffer.write(x, 0, stream);
    yBuffer.write(y);
    kernel.setMaxDynamicSharedMemory(100 * 1024);
    const start = new addon.cuda.Event(context);
    const end = new addon.cuda.Event(context);
    start.record(stream);
    kernel.launch({ grid: Math.ceil(n / 256), block: [256, 1, 1], stream, args: saxpyArgs(yBuffer.address, xBuffer.address, a, n) });
    end.record(stream);
    stream.synchronize();
    expect(start.elapsedMs(end)).toBe(1.25);
    const out = new Float32Array(n);
    yBuffer.read(out, 0, stream);
    const af = Math.fround(a);
    expect(out.every((v, i) => v === Math.fround(Math.fround(af * x[i]) + y[i]))).toBe(true);
    for (const resource of [start, end, kernel, module, xBuffer, yBuffer, stream]) resource.dispose();
    expect(yBuffer.disposed).toBe(true);
  });

  it('turns driver failures into errors naming the call and the driver error', () => {
    expect(() => new addon.cuda.Buffer(context, 2 ** 50)).toThrow(
      'cuda: cuMemAlloc_v2(1125899906842624 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)',
    );
    const module = new addon.cuda.Module(context, fakeCubin);
    expect(() => new addon.cuda.Kernel(module, 'nope')).toThrow(
      'cuda: cuModuleGetFunction(nope) failed: CUDA_ERROR_NOT_FOUND (named symbol not found)',
    );
    const notCubin = path.join(tempDir('bad-cubin'), 'bad.cubin');
    writeFileSync(notCubin, 'ELF?');
    expect(() => new addon.cuda.Module(context, notCubin)).toThrow(/cuModuleLoad\(.*bad\.cubin\) failed: CUDA_ERROR_INVALID_IMAGE/);
    expect(() => new addon.cuda.Module(context, '/nonexistent.cubin')).toThrow(/CUDA_ERROR_FILE_NOT_FOUND/);
    const kernel = new addon.cuda.Kernel(module, 'saxpy');
    expect(() => kernel.launch({ grid: 1, block: 1, args: new Uint8Array(20) })).toThrow(
      'cuda: cuLaunchKernel failed: CUDA_ERROR_INVALID_VALUE (invalid argument)',
    );
    expect(() => kernel.setMaxDynamicSharedMemory(1 << 20)).toThrow(/cuFuncSetAttribute/);
  });

  it('rejects bad arguments before the driver sees them', () => {
    expect(() => new addon.cuda.Context(1)).toThrow('cuda.Context: device 1 does not exist (1 device(s))');
    const module = new addon.cuda.Module(context, fakeCubin);
    const kernel = new addon.cuda.Kernel(module, 'saxpy');
    expect(() => kernel.launch({ grid: 0, block: 1 })).toThrow(/grid entries must be at least 1/);
    expect(() => kernel.launch({ grid: [1, 2, 3, 4] as unknown as [number], block: 1 })).toThrow(/1 to 3 entries/);
    const other = new addon.cuda.Context(0);
    const foreign = new addon.cuda.Stream(other);
    expect(() => kernel.launch({ grid: 1, block: 1, stream: foreign })).toThrow(/the stream belongs to another context/);
    expect(() => new addon.hip.Buffer(context, 4)).toThrow('a cuda Context was given to a hip resource');
    const buffer = new addon.cuda.Buffer(context, 8);
    expect(() => buffer.write(new Uint8Array(9))).toThrow(/9 bytes at offset 0 do not fit in a buffer of 8 bytes/);
    buffer.dispose();
    expect(() => buffer.address).toThrow('Buffer was disposed');
  });
});

describe('lifetimes against the fake driver', () => {
  it('dispose() releases everything, even with the context disposed first', () => {
    const { report } = runWithFakeDriver(`
      const cuda = addon.cuda;
      const ctx = new cuda.Context(0);
      const mod = new cuda.Module(ctx, cubin);
      const kernel = new cuda.Kernel(mod, 'saxpy');
      const buffer = new cuda.Buffer(ctx, 1024);
      const stream = new cuda.Stream(ctx);
      const event = new cuda.Event(ctx);
      ctx.dispose();
      mod.dispose();
      buffer.fill(7, stream);
      for (const r of [buffer, stream, event, kernel]) r.dispose();
    `);
    expect(report).toEqual(CLEAN);
  });

  it('finalizers release what was never disposed', () => {
    const { report, stdout } = runWithFakeDriver(
      `
      const cuda = addon.cuda;
      (() => {
        const ctx = new cuda.Context(0);
        const kernel = new cuda.Kernel(new cuda.Module(ctx, cubin), 'saxpy');
        for (let i = 0; i < 10; i++) new cuda.Buffer(ctx, 4096);
        new cuda.Stream(ctx); new cuda.Event(ctx);
      })();
      for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setImmediate(r)); }
      console.log('collected');
    `,
      ['--expose-gc'],
    );
    expect(stdout.trim()).toBe('collected');
    expect(report).toEqual(CLEAN);
  });

  it('a program with captured graphs is released by dispose() or its finalizer, after its context', () => {
    const setup = `
      const cuda = addon.cuda;
      const ctx = new cuda.Context(0);
      const kernel = new cuda.Kernel(new cuda.Module(ctx, cubin), 'saxpy');
      const buffer = new cuda.Buffer(ctx, 1024);
      const blob = new Uint8Array(24);
      new DataView(blob.buffer).setBigUint64(0, buffer.address, true);
      new DataView(blob.buffer).setBigUint64(8, buffer.address, true);
      const program = new cuda.Program(ctx, { params: 1, launches: [{ kernel, grid: 1, block: 1, args: blob, patches: [{ at: 20, param: 0, bytes: 4 }] }] });
      for (const b of [1, 2, 3, 2]) program.run({ params: [b], graph: true });
      console.log(program.graphs);`;
    const disposed = runWithFakeDriver(`${setup} ctx.dispose(); kernel.dispose(); program.dispose(); buffer.dispose();`);
    expect(disposed.stdout.trim()).toBe('3');
    expect(disposed.report).toEqual(CLEAN);
    const collected = runWithFakeDriver(
      `(() => { ${setup} })(); for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setImmediate(r)); }`,
      ['--expose-gc'],
    );
    expect(collected.report).toEqual(CLEAN);
  });

  it('a driver without the graph entry points gets plain launches', () => {
    const trace = path.join(tempDir('no-graphs'), 'calls.txt');
    const { report, stdout } = runWithFakeDriver(
      `
      const cuda = addon.cuda;
      const ctx = new cuda.Context(0);
      const kernel = new cuda.Kernel(new cuda.Module(ctx, cubin), 'saxpy');
      const buffer = new cuda.Buffer(ctx, 1024);
      const blob = new Uint8Array(24);
      new DataView(blob.buffer).setBigUint64(0, buffer.address, true);
      new DataView(blob.buffer).setBigUint64(8, buffer.address, true);
      const program = new cuda.Program(ctx, { launches: [{ kernel, grid: 1, block: 1, args: blob }, { kernel, grid: 1, block: 1, args: blob }] });
      console.log(JSON.stringify([program.graphsSupported, program.run({ graph: true }), program.run({ graph: true }), program.graphs]));
      for (const r of [program, kernel, buffer, ctx]) r.dispose();`,
      [],
      { DSV3C_FAKE_CUDA_MODE: 'no-graphs', DSV3C_FAKE_CUDA_TRACE: trace },
    );
    expect(JSON.parse(stdout)).toEqual([false, 'launched', 'launched', 0]);
    expect(readFileSync(trace, 'utf8').trim().split('\n')).toEqual(['cuLaunchKernel', 'cuLaunchKernel', 'cuLaunchKernel', 'cuLaunchKernel']);
    expect(report).toEqual(CLEAN);
  });

  it('a driver that fails cuInit is reported with its error and version', async () => {
    const probe = await probeInChildProcess({
      env: { ...process.env, DSV3C_LIBCUDA: fakeDriver, DSV3C_FAKE_CUDA_MODE: 'no-device' },
    });
    expect(probe.cuda).toEqual({
      available: false,
      driverVersion: 13000,
      error: 'cuda: cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)',
    });
  });

  it('a driver that crashes takes down only the probe child', async () => {
    const probe = await probeInChildProcess({
      env: { ...process.env, DSV3C_LIBCUDA: fakeDriver, DSV3C_FAKE_CUDA_MODE: 'crash' },
    });
    expect(probe.cuda.available).toBe(false);
    expect(probe.cuda.error).toMatch(/^cuda: the probe child process died of SIGABRT/);
    expect(probe.hip.available).toBe(false);
    expect(probe.cpu.threads).toBeGreaterThanOrEqual(1);
  });

  it('a library that is not a CUDA driver is an error, not a crash', () => {
    const notDriver = buildSharedLibrary(path.join(FIXTURES, 'cpu_kernels.cc'), 'not-a-driver');
    const out = execFileSync(
      process.execPath,
      ['--input-type=commonjs', '-e', `console.log(JSON.stringify(require(${JSON.stringify(defaultAddonPath())}).probe().cuda))`],
      { env: { ...process.env, DSV3C_LIBCUDA: notDriver }, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({
      available: false,
      error: `cuda: ${notDriver} has no cuGetProcAddress_v2: dsv3c needs an NVIDIA driver for CUDA 12.0 or newer`,
    });
  });
});
