/**
 * Programs on the fake CUDA driver (fake-cuda.ts): which driver entry points a run calls (one
 * cuLaunchKernel per non-empty launch; with graph: true a capture, an instantiation and a graph
 * launch the first time, only a graph launch after), read from the fake's call trace, and the
 * runtime's Device.createProgram over it.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { openDevice } from '../../runtime/src/device/device.ts';
import type { GpuContext, NativeAddon } from '../../runtime/src/native/addon-types.ts';
import { fakeCubin, openFakeCuda, saxpyArgs, tally, traceSince } from './fake-cuda.ts';

let addon: NativeAddon;
let context: GpuContext;

beforeAll(() => {
  ({ addon, context } = openFakeCuda());
});

describe('Programs against the fake driver', () => {
  const n = 3000;
  const rows = 3;
  let module: InstanceType<NativeAddon['cuda']['Module']>;
  let kernel: InstanceType<NativeAddon['cuda']['Kernel']>;
  beforeAll(() => {
    module = new addon.cuda.Module(context, fakeCubin);
    kernel = new addon.cuda.Kernel(module, 'saxpy');
  });

  /** x [rows × n] and y [rows × n] random, on the device and in JS. */
  function operands() {
    const x = Float32Array.from({ length: rows * n }, () => Math.random() * 2 - 1);
    const y = Float32Array.from({ length: rows * n }, () => Math.random() * 2 - 1);
    const bx = new addon.cuda.Buffer(context, x.byteLength);
    const by = new addon.cuda.Buffer(context, y.byteLength);
    bx.write(x);
    by.write(y);
    return { x, y, bx, by };
  }

  /**
   * params [count, row]: y[row] = 2·x[row] + y[row] over `count` elements, then x[row] = 0.5·y[row] +
   * x[row] (reads the first's output), then y[row] = -1·x[row] + y[row]: pointers moved by
   * row × n × 4 bytes, n patched into the 4-byte int at byte 20.
   */
  function chain(bx: { address: bigint }, by: { address: bigint }) {
    const launch = (dst: bigint, src: bigint, a: number) => ({
      kernel,
      block: [256, 1, 1] as [number, number, number],
      args: saxpyArgs(dst, src, a, 0),
      patches: [
        { at: 0, param: 1, scale: n * 4 },
        { at: 8, param: 1, scale: n * 4 },
        { at: 20, param: 0, bytes: 4 as const },
      ],
    });
    return new addon.cuda.Program(context, {
      params: 2,
      launches: [launch(by.address, bx.address, 2), launch(bx.address, by.address, 0.5), launch(by.address, bx.address, -1)],
    });
  }

  function expectChain(x: Float32Array, y: Float32Array, count: number, row: number) {
    for (let i = row * n; i < row * n + count; i++) {
      y[i] = Math.fround(Math.fround(2 * x[i]) + y[i]);
      x[i] = Math.fround(Math.fround(0.5 * y[i]) + x[i]);
      y[i] = Math.fround(Math.fround(-1 * x[i]) + y[i]);
    }
  }

  function read(b: InstanceType<NativeAddon['cuda']['Buffer']>): Float32Array {
    const out = new Float32Array(b.size / 4);
    b.read(out);
    return out;
  }

  const grids = (...g: number[][]) => Int32Array.from(g.flat());
  const full = Math.ceil(n / 256);

  it('a plain run is one cuLaunchKernel per non-empty launch, in order, with the params patched in', () => {
    const { x, y, bx, by } = operands();
    const program = chain(bx, by);
    expect([program.launches, program.params, program.graphsSupported, program.graphs]).toEqual([3, 2, true, 0]);
    traceSince();
    expect(program.run({ params: new Int32Array([n, 1]), grids: grids([full, 1, 1], [full, 1, 1], [full, 1, 1]) })).toBe('launched');
    expect(traceSince()).toEqual(['cuLaunchKernel', 'cuLaunchKernel', 'cuLaunchKernel']);
    expectChain(x, y, n, 1);
    // An empty grid skips its launch: only the first runs, on row 2's first 1000 elements.
    expect(program.run({ params: [1000, 2], grids: grids([4, 1, 1], [0, 1, 1], [full, 0, 1]) })).toBe('launched');
    expect(traceSince()).toEqual(['cuLaunchKernel']);
    for (let i = 2 * n; i < 2 * n + 1000; i++) y[i] = Math.fround(Math.fround(2 * x[i]) + y[i]);
    expect(read(bx)).toEqual(x);
    expect(read(by)).toEqual(y);
    program.dispose();
    expect(traceSince()).toEqual([]); // nothing to release: no graphs, no capture stream
  });

  it('graph: true captures once per params and grids, then replays with one cuGraphLaunch', () => {
    const { x, y, bx, by } = operands();
    const program = chain(bx, by);
    const g = grids([full, 1, 1], [full, 1, 1], [full, 1, 1]);
    traceSince();
    expect(program.run({ params: [n, 0], grids: g, graph: true })).toBe('captured');
    expect(traceSince()).toEqual([
      'cuStreamCreate',
      'cuStreamBeginCapture',
      'cuLaunchKernel(captured)',
      'cuLaunchKernel(captured)',
      'cuLaunchKernel(captured)',
      'cuStreamEndCapture',
      'cuGraphInstantiateWithFlags',
      'cuGraphDestroy',
      'cuGraphLaunch',
    ]);
    expectChain(x, y, n, 0);
    expect(read(by)).toEqual(y);
    // The graph reads memory when it runs: new inputs, same graph.
    for (let step = 0; step < 3; step++) {
      x.fill(step + 1, 0, n);
      bx.write(x);
      traceSince();
      expect(program.run({ params: new Int32Array([n, 0]), grids: g, graph: true })).toBe('replayed');
      expect(traceSince()).toEqual(['cuGraphLaunch']);
      expectChain(x, y, n, 0);
    }
    expect(read(by)).toEqual(y);
    expect(read(bx)).toEqual(x);
    // Another row (other pointers) or other grids: another graph; the capture stream is reused.
    expect(program.run({ params: [n, 2], grids: g, graph: true })).toBe('captured');
    expectChain(x, y, n, 2);
    const skipLast = grids([full, 1, 1], [full, 1, 1], [0, 1, 1]);
    expect(program.run({ params: [n, 2], grids: skipLast, graph: true })).toBe('captured');
    expect(tally(traceSince())).toEqual({
      cuStreamBeginCapture: 2,
      'cuLaunchKernel(captured)': 5,
      cuStreamEndCapture: 2,
      cuGraphInstantiateWithFlags: 2,
      cuGraphDestroy: 2,
      cuGraphLaunch: 2,
    });
    for (let i = 2 * n; i < 3 * n; i++) {
      y[i] = Math.fround(Math.fround(2 * x[i]) + y[i]);
      x[i] = Math.fround(Math.fround(0.5 * y[i]) + x[i]);
    }
    expect(program.graphs).toBe(3);
    expect(program.run({ params: [n, 2], grids: g, graph: true })).toBe('replayed');
    expectChain(x, y, n, 2);
    expect(read(by)).toEqual(y);
    expect(read(bx)).toEqual(x);
    // Without graph: plain launches even where a graph exists.
    traceSince();
    expect(program.run({ params: [n, 2], grids: g })).toBe('launched');
    expect(traceSince()).toEqual(['cuLaunchKernel', 'cuLaunchKernel', 'cuLaunchKernel']);
    program.clearGraphs();
    expect(program.graphs).toBe(0);
    expect(traceSince()).toEqual(['cuGraphExecDestroy', 'cuGraphExecDestroy', 'cuGraphExecDestroy']);
    expect(program.run({ params: [n, 0], grids: g, graph: true })).toBe('captured');
    program.dispose();
    expect(traceSince().slice(-2)).toEqual(['cuGraphExecDestroy', 'cuStreamDestroy']);
    expect(() => program.run()).toThrow('cuda.Program was disposed');
    bx.dispose();
    by.dispose();
  });

  it('runs on a given stream, and a static grid needs no grids', () => {
    const { x, y, bx, by } = operands();
    const stream = new addon.cuda.Stream(context);
    const program = new addon.cuda.Program(context, {
      launches: [{ kernel, grid: full, block: 256, sharedMemBytes: 64 * 1024, args: saxpyArgs(by.address, bx.address, 3, n) }],
    });
    traceSince();
    expect(program.run({ stream, graph: true })).toBe('captured');
    expect(program.run({ stream, graph: true })).toBe('replayed');
    stream.synchronize();
    for (let i = 0; i < n; i++) for (let k = 0; k < 2; k++) y[i] = Math.fround(Math.fround(3 * x[i]) + y[i]);
    expect(read(by)).toEqual(y);
    for (const r of [program, stream, bx, by]) r.dispose();
  });

  it('a failing launch names its index and kernel; a failed capture leaves the program usable', () => {
    const { bx, by } = operands();
    const good = { kernel, grid: 1, block: 1, args: saxpyArgs(by.address, bx.address, 1, 1) };
    const bad = { kernel, grid: 1, block: 1, args: new Uint8Array(20) }; // the fake wants 24 bytes
    const program = new addon.cuda.Program(context, { launches: [good, bad] });
    expect(() => program.run()).toThrow(
      'cuda.Program.run: launch 1 (kernel saxpy): cuda: cuLaunchKernel failed: CUDA_ERROR_INVALID_VALUE (invalid argument)',
    );
    traceSince();
    expect(() => program.run({ graph: true })).toThrow(
      'cuda.Program.run (capturing): launch 1 (kernel saxpy): cuda: cuLaunchKernel failed: CUDA_ERROR_INVALID_VALUE',
    );
    expect(traceSince().slice(-2)).toEqual(['cuLaunchKernel(captured)', 'cuStreamEndCapture']);
    expect(program.graphs).toBe(0);
    const fine = new addon.cuda.Program(context, { launches: [good, good] });
    expect(fine.run({ graph: true })).toBe('captured');
    for (const r of [program, fine, bx, by]) r.dispose();
  });

  it('checks launches and patches at construction, and a run before anything is queued', () => {
    const blob = saxpyArgs(0n, 0n, 1, 1);
    const make = (launch: object, params = 1) =>
      new addon.cuda.Program(context, { params, launches: [{ kernel, block: 1, args: blob }, { kernel, block: 1, args: blob, ...launch }] });
    expect(() => make({ patches: [{ at: 20, param: 0 }] })).toThrow(
      'cuda.Program: launch 1 (kernel saxpy): patch 0: 8 bytes at 20 must be aligned and inside the 24-byte argument blob',
    );
    expect(() => make({ patches: [{ at: 24, param: 0, bytes: 4 }] })).toThrow(/4 bytes at 24 must be aligned and inside/);
    expect(() => make({ patches: [{ at: 0, param: 1 }] })).toThrow("launch 1 (kernel saxpy): patch 0: param 1 is past the program's 1 param(s)");
    expect(() => make({ patches: [{ at: 16, param: 0, bytes: 3 }] })).toThrow(/bytes must be 4 or 8/);
    expect(() => make({ patches: [{ at: 16, param: 0 }, { at: 20, param: 0, bytes: 4 }] })).toThrow(/patches at bytes 16 and 20 overlap/);
    expect(() => make({ grid: [1, 0] })).toThrow('cuda.Program: launch 1 (kernel saxpy): grid entries must be at least 1');
    expect(() => make({ block: [] })).toThrow(/block must have 1 to 3 entries/);
    expect(() => make({ kernel: context })).toThrow('cuda.Program: launch 1: kernel must be a Kernel');
    expect(() => make({ sharedMemBytes: 1 << 20 })).toThrow(/launch 1 \(kernel saxpy\): cuda: cuFuncSetAttribute/);
    const other = new addon.cuda.Context(0);
    expect(() => new addon.cuda.Program(other, { launches: [{ kernel, block: 1 }] })).toThrow(
      'cuda.Program: launch 0 (kernel saxpy): the kernel belongs to another context',
    );
    expect(() => new addon.hip.Program(context, { launches: [] })).toThrow('a cuda Context was given to a hip resource');
    const program = new addon.cuda.Program(context, {
      params: 1,
      launches: [{ kernel, grid: 1, block: 1, args: blob, patches: [{ at: 20, param: 0, bytes: 4 }] }],
    });
    traceSince();
    expect(() => program.run({ params: [2 ** 33] })).toThrow(
      // the template's n (1) is the base the param adds to
      'cuda.Program.run: launch 0 (kernel saxpy): 8589934593 does not fit the 4-byte argument at byte 20',
    );
    expect(() => program.run({ params: [1], grids: new Int32Array(6) })).toThrow(/grids has 6 entries; the program's 1 launch\(es\) need 3/);
    expect(() => program.run({ params: new Uint8Array(1) as never })).toThrow(/params must be an Int32Array, BigInt64Array, Float64Array or array/);
    expect(traceSince()).toEqual([]);
  });
});

describe('Device.createProgram on cuda (what the executor runs)', () => {
  it('packs pointers and int64 params, launches each kernel once, and keeps a graph per params', () => {
    const device = openDevice('cuda', addon);
    const kernel = device.loadKernel(fakeCubin, 'saxpy');
    const memory = device.alloc(64, 'operands');
    memory.fill(0);
    // The fake's saxpy reads {y, x, f32 a, i32 n}: pointers y, x and one int64 whose low word is a
    // and high word n (0 here: nothing to compute, but every argument checked by the driver).
    const launch = { kernel, block: [1, 1, 1] as const, sharedBytes: 0, pointers: [{ address: memory.address, param: 1, scale: 16 }, { address: memory.address }], ints: [0] };
    const program = device.createProgram([launch, launch, launch], 2);
    const grids = new Int32Array([1, 1, 1, 1, 1, 1, 0, 1, 1]);
    traceSince();
    expect(program.run(new Int32Array([0x40000000, 0]), grids, false)).toBe('launched');
    expect(traceSince()).toEqual(['cuLaunchKernel', 'cuLaunchKernel']);
    expect(program.run(new Int32Array([0x40000000, 1]), grids, true)).toBe('captured');
    expect(program.run(new Int32Array([0x40000000, 1]), grids, true)).toBe('replayed');
    expect(program.run(new Int32Array([0x40000000, 2]), grids, true)).toBe('captured');
    expect(program.graphs).toBe(2);
    expect(tally(traceSince())).toMatchObject({ 'cuLaunchKernel(captured)': 4, cuGraphInstantiateWithFlags: 2, cuGraphLaunch: 3 });
    // A row past the allocation moves the pointer outside it: the driver refuses, naming the launch.
    expect(() => program.run(new Int32Array([0x40000000, 4]), grids, false)).toThrow(/launch 0 \(kernel saxpy\): cuda: cuLaunchKernel failed/);
    program.dispose();
    memory.dispose();
    device.dispose();
  });
});
