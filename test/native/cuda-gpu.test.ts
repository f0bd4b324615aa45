/**
 * The same saxpy as cuda-fake-driver.test.ts, on a real GPU through the real driver: compiled
 * here with nvcc to a cubin for the device's compute capability; and a Program of chained saxpy
 * launches, plain and as a captured CUDA graph replayed. Skipped, visibly, where probe() finds no
 * CUDA device or no nvcc.
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

  it('runs a Program of chained launches plainly and as a replayed CUDA graph', () => {
    const arch = `sm_${cuda.devices![0].computeCapability.replace('.', '')}`;
    const cubin = path.join(tempDir('cubin'), 'saxpy.cubin');
    execFileSync('nvcc', ['-cubin', `-arch=${arch}`, '-o', cubin, path.join(FIXTURES, 'saxpy.cu')]);
    const context = new addon.cuda.Context(0);
    const module = new addon.cuda.Module(context, cubin);
    const kernel = new addon.cuda.Kernel(module, 'saxpy');
    const n = 1 << 16;
    const rows = 2;
    const x = Float32Array.from({ length: rows * n }, () => Math.random() * 2 - 1);
    const y = Float32Array.from({ length: rows * n }, () => Math.random() * 2 - 1);
    const bx = new addon.cuda.Buffer(context, x.byteLength);
    const by = new addon.cuda.Buffer(context, y.byteLength);
    bx.write(x);
    by.write(y);
    // params [count, row]; 64 launches alternating y += a·x and x += b·y on row `row`.
    const launches = Array.from({ length: 64 }, (_, i) => ({
      kernel,
      block: 256,
      args: new KernelArgPacker()
        .ptr(i % 2 ? bx.address : by.address)
        .ptr(i % 2 ? by.address : bx.address)
        .f32(i % 2 ? 0.25 : -0.5)
        .i32(0)
        .bytes(),
      patches: [
        { at: 0, param: 1, scale: n * 4 },
        { at: 8, param: 1, scale: n * 4 },
        { at: 20, param: 0, bytes: 4 as const },
      ],
    }));
    const program = new addon.cuda.Program(context, { params: 2, launches });
    expect(program.graphsSupported).toBe(true);
    const grids = new Int32Array(64 * 3).fill(1);
    for (let i = 0; i < 64; i++) grids[3 * i] = n / 256;
    const expectSteps = (row: number, times: number) => {
      for (let t = 0; t < times; t++) {
        for (let i = 0; i < 64; i++) {
          const [dst, src, a] = i % 2 ? [x, y, Math.fround(0.25)] : [y, x, Math.fround(-0.5)];
          for (let e = row * n; e < (row + 1) * n; e++) dst[e] = Math.fround(Math.fround(a * src[e]) + dst[e]);
        }
      }
    };
    expect(program.run({ params: [n, 1], grids })).toBe('launched');
    expect(program.run({ params: [n, 1], grids, graph: true })).toBe('captured');
    expect(program.run({ params: [n, 1], grids, graph: true })).toBe('replayed');
    expect(program.run({ params: [n, 0], grids, graph: true })).toBe('captured');
    expectSteps(1, 3);
    expectSteps(0, 1);
    context.synchronize();
    const outX = new Float32Array(rows * n);
    const outY = new Float32Array(rows * n);
    bx.read(outX);
    by.read(outY);
    expect(outX).toEqual(x);
    expect(outY).toEqual(y);
    // Informational: host-side cost per step of 64 launches, plain vs replayed.
    const stream = new addon.cuda.Stream(context);
    const time = (graph: boolean) => {
      program.run({ params: [n, 0], grids, graph, stream });
      stream.synchronize();
      const t0 = performance.now();
      for (let k = 0; k < 50; k++) program.run({ params: [n, 0], grids, graph, stream });
      stream.synchronize();
      return (performance.now() - t0) / 50;
    };
    console.log(`64-launch program step: plain ${time(false).toFixed(3)} ms, graph ${time(true).toFixed(3)} ms`);
    for (const r of [program, stream, bx, by, kernel, module, context]) r.dispose();
  });
});
