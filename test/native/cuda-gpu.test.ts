/**
 * The same saxpy as cuda-fake-driver.test.ts, on a real GPU through the real driver: compiled
 * here with nvcc to a cubin for the device's compute capability. Skipped, visibly, where probe()
 * finds no CUDA device or no nvcc.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadAddon } from '../../runtime/src/native/load-addon.ts';
import { KernelArgPacker } from '../../runtime/src/native/pack-args.ts';
import { FIXTURES, tempDir } from './native-support.ts';

const addon = loadAddon();
const cuda = addon.probe().cuda;
const hasNvcc = spawnSync('nvcc', ['--version']).status === 0;

const skipReason = !cuda.available ? `no CUDA device: ${cuda.error ?? 'probe found none'}` : !hasNvcc ? 'nvcc not found' : '';

describe.skipIf(skipReason !== '')(`the CUDA backend on a real GPU${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('runs saxpy from a cubin and matches float32 JS, timed with events', () => {
    const arch = `sm_${cuda.devices![0].computeCapability.replace('.', '')}`;
    const cubin = path.join(tempDir('cubin'), 'saxpy.cubin');
    execFileSync('nvcc', ['-cubin', `-arch=${arch}`, '-o', cubin, path.join(FIXTURES, 'saxpy.cu')]);
    const context = new addon.cuda.Context(0);
    const module = new addon.cuda.Module(context, cubin);
    const kernel = new addon.cuda.Kernel(module, 'saxpy');
    const stream = new addon.cuda.Stream(context);
    const n = 1 << 20;
    const x = Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
    const y = Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
    const a = Math.random() * 4 - 2;
    const xBuffer = new addon.cuda.Buffer(context, n * 4);
    const yBuffer = new addon.cuda.Buffer(context, n * 4);
    xBuffer.write(x, 0, stream);
    yBuffer.write(y, 0, stream);
    const start = new addon.cuda.Event(context);
    const end = new addon.cuda.Event(context);
    const args = new KernelArgPacker().ptr(yBuffer.address).ptr(xBuffer.address).f32(a).i32(n).bytes();
    start.record(stream);
    kernel.launch({ grid: Math.ceil(n / 256), block: 256, stream, args });
    end.record(stream);
    end.synchronize();
    expect(start.elapsedMs(end)).toBeGreaterThan(0);
    const out = new Float32Array(n);
    yBuffer.read(out, 0, stream);
    const af = Math.fround(a);
    expect(out.every((v, i) => v === Math.fround(Math.fround(af * x[i]) + y[i]))).toBe(true);
    for (const r of [start, end, xBuffer, yBuffer, stream, kernel, module, context]) r.dispose();
  });
});
