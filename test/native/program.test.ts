/**
 * cpu.Program: a list of launches built once and run with one call, each launch over the thread
 * pool in order. Checked against the same launches made one by one (bit for bit), with params
 * patching int arguments (step symbols) and pointers (a row that moves per run), grids per run
 * (an empty grid skips its launch), and every construction and run error naming the launch. The
 * runtime's Device.createProgram over it is checked too. The CUDA Program (launch count, graph
 * capture and replay) is in cuda-fake-driver.test.ts.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { openDevice } from '../../runtime/src/device/device.ts';
import type { CpuBuffer, CpuContext, CpuKernel, CpuModule, CpuProgramOptions, NativeAddon } from '../../runtime/src/native/addon-types.ts';
import { loadAddon } from '../../runtime/src/native/load-addon.ts';
import { FIXTURES, buildSharedLibrary } from './native-support.ts';

let addon: NativeAddon;
let context: CpuContext;
let module: CpuModule;
let libraryPath: string;
let saxpy: CpuKernel;
let iota: CpuKernel;

beforeAll(() => {
  addon = loadAddon();
  libraryPath = buildSharedLibrary(path.join(FIXTURES, 'cpu_kernels.cc'), 'program-kernels');
  context = new addon.cpu.Context();
  module = new addon.cpu.Module(context, libraryPath);
  saxpy = new addon.cpu.Kernel(module, 'saxpy');
  iota = new addon.cpu.Kernel(module, 'iota_i64');
});

function randomFloats(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
}

function buffer(data: Float32Array | number): CpuBuffer {
  const bytes = typeof data === 'number' ? data : data.byteLength;
  const out = new addon.cpu.Buffer(context, bytes);
  if (typeof data === 'number') out.fill(0);
  else out.write(data);
  return out;
}

function floats(b: CpuBuffer, n = b.size / 4): Float32Array {
  const out = new Float32Array(n);
  b.read(out);
  return out;
}

describe('cpu.Program', () => {
  it('a program of several chained launches equals the same launches one by one, bit for bit', () => {
    const n = 50_000;
    const x = randomFloats(n);
    const y1 = randomFloats(n);
    const y2 = randomFloats(n);
    const [a, b, c] = [1.5, -0.75, 0.3];
    const run = (viaProgram: boolean) => {
      const bx = buffer(x);
      const b1 = buffer(y1);
      const b2 = buffer(y2);
      const ints = new addon.cpu.Buffer(context, 64 * 8);
      // y1 = a·x + y1; y2 = b·y1 + y2 (reads the first's output); ints = iota; y1 = c·y2 + y1
      const launches = [
        { kernel: saxpy, grid: 7, args: [b1, bx, a, n] },
        { kernel: saxpy, grid: [3, 2] as [number, number], args: [b2, b1, b, n] },
        { kernel: iota, grid: 2, args: [ints, -5, 3, 64] },
        { kernel: saxpy, grid: [1, 1, 5] as [number, number, number], args: [b1, b2, c, n] },
      ];
      if (viaProgram) {
        const program = new addon.cpu.Program(context, { launches });
        expect(program.launches).toBe(4);
        expect(program.params).toBe(0);
        expect(program.run()).toBe('launched');
        program.dispose();
      } else {
        for (const l of launches) {
          const g = typeof l.grid === 'number' ? [l.grid] : l.grid;
          l.kernel.launch({ blocks: g.reduce((p, q) => p * q, 1), args: l.args });
        }
      }
      const is = new BigInt64Array(64);
      ints.read(is);
      return { y1: floats(b1), y2: floats(b2), ints: [...is] };
    };
    const viaProgram = run(true);
    const oneByOne = run(false);
    expect(Buffer.from(viaProgram.y1.buffer).equals(Buffer.from(oneByOne.y1.buffer))).toBe(true);
    expect(Buffer.from(viaProgram.y2.buffer).equals(Buffer.from(oneByOne.y2.buffer))).toBe(true);
    expect(viaProgram.ints).toEqual(Array.from({ length: 64 }, (_, i) => BigInt(-5 + 3 * i)));
    // And the chain really ran in order: y2 saw the updated y1.
    const af = Math.fround(a);
    const bf = Math.fround(b);
    const i = 12345;
    const y1After = Math.fround(Math.fround(af * x[i]) + y1[i]);
    expect(viaProgram.y2[i]).toBe(Math.fround(Math.fround(bf * y1After) + y2[i]));
  });

  it('params patch int arguments and move pointers; per-run grids; an empty grid skips its launch', () => {
    const rows = 4;
    const width = 1000;
    const x = randomFloats(rows * width);
    const y = randomFloats(rows * width);
    const bx = buffer(x);
    const by = buffer(y);
    const ints = new addon.cpu.Buffer(context, rows * width * 8);
    ints.fill(0);
    // params [n, row, start]: saxpy on the first n elements of row `row`; iota into that row.
    const program = new addon.cpu.Program(context, {
      params: 3,
      launches: [
        {
          kernel: saxpy,
          args: [by, bx, 2, 0],
          patches: [
            { arg: 0, param: 1, scale: width * 4 },
            { arg: 1, param: 1, scale: width * 4 },
            { arg: 3, param: 0 },
          ],
        },
        {
          kernel: iota,
          args: [ints.address, 0, 1, 0],
          // two patches on one slot add up: start = 1000·row + start param
          patches: [
            { arg: 0, param: 1, scale: BigInt(width * 8) },
            { arg: 1, param: 1, scale: 1000 },
            { arg: 1, param: 2 },
            { arg: 3, param: 0 },
          ],
        },
      ],
    });
    expect(program.params).toBe(3);
    const expected = Float32Array.from(y);
    const expectedInts = new BigInt64Array(rows * width);
    const steps: [number, number, number, number][] = [
      [700, 2, 5, 3],
      [1000, 0, -7, 8],
      [1, 3, 0, 1],
      [300, 2, 11, 0], // grid 0 for the saxpy: skipped
    ];
    for (const [n, row, start, blocks] of steps) {
      const grids = new Int32Array([blocks, 1, 1, 2, 1, 1]);
      expect(program.run({ params: new Int32Array([n, row, start]), grids })).toBe('launched');
      if (blocks > 0) for (let i = 0; i < n; i++) expected[row * width + i] = Math.fround(Math.fround(2 * x[row * width + i]) + expected[row * width + i]);
      for (let i = 0; i < n; i++) expectedInts[row * width + i] = BigInt(1000 * row + start + i);
    }
    expect(Buffer.from(floats(by).buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    const gotInts = new BigInt64Array(rows * width);
    ints.read(gotInts);
    expect(gotInts).toEqual(expectedInts);
    // params as a BigInt64Array, a Float64Array or a plain array give the same.
    for (const params of [new BigInt64Array([5n, 1n, 9n]), new Float64Array([5, 1, 9]), [5, 1n, 9]]) {
      ints.fill(0);
      program.run({ params, grids: new Int32Array([0, 1, 1, 1, 1, 1]) });
      ints.read(gotInts);
      expect([...gotInts.slice(width, width + 6)]).toEqual([1009n, 1010n, 1011n, 1012n, 1013n, 0n]);
    }
  });

  it('runs every block of every launch exactly once, across the pool', () => {
    const blocks = 48;
    const counts = new addon.cpu.Buffer(context, blocks * 4);
    const threads = new addon.cpu.Buffer(context, blocks * 8);
    counts.fill(0);
    const kernel = new addon.cpu.Kernel(module, 'count_blocks');
    const launches = Array.from({ length: 10 }, () => ({ kernel, grid: blocks, args: [counts, threads, 50] }));
    const program = new addon.cpu.Program(context, { launches });
    program.run();
    program.run();
    const seen = new Int32Array(blocks);
    counts.read(seen);
    expect([...seen]).toEqual(new Array(blocks).fill(20));
  });

  it('keeps running after its kernels and module are disposed', () => {
    const own = new addon.cpu.Module(context, libraryPath);
    const kernel = new addon.cpu.Kernel(own, 'iota_i64');
    const out = new addon.cpu.Buffer(context, 4 * 8);
    const program = new addon.cpu.Program(context, { launches: [{ kernel, grid: 1, args: [out, 2, 2, 4] }] });
    kernel.dispose();
    own.dispose();
    program.run();
    const values = new BigInt64Array(4);
    out.read(values);
    expect([...values]).toEqual([2n, 4n, 6n, 8n]);
    program.dispose();
    program.dispose();
    expect(program.disposed).toBe(true);
    expect(() => program.run()).toThrow('cpu.Program was disposed');
  });
});

describe('cpu.Program checks everything at construction, naming the launch', () => {
  const make = (launches: unknown[], params?: number) =>
    new addon.cpu.Program(context, { launches, params } as CpuProgramOptions);

  it('argument counts and kinds', () => {
    const y = new addon.cpu.Buffer(context, 16);
    expect(() => make([{ kernel: iota, grid: 1, args: [y, 0, 1, 2] }, { kernel: saxpy, grid: 1, args: [y, y, 1] }])).toThrow(
      'cpu.Program: launch 1 (kernel saxpy) takes 4 argument(s) (kinds "ppfi"), got 3',
    );
    expect(() => make([{ kernel: saxpy, grid: 1, args: [y, 3, 1.5, 4] }])).toThrow(
      /cpu.Program: launch 0 \(kernel saxpy\) argument 1 \(kind 'p'\) must be a cpu.Buffer/,
    );
    expect(() => make([{ kernel: saxpy, grid: 1, args: [y, y, 1.5, 2.5] }])).toThrow(
      /launch 0 \(kernel saxpy\) argument 3 \(kind 'i'\) must be an integer/,
    );
    expect(() => make([{ kernel: saxpy, grid: 1, args: [y, y, 'a', 4] }])).toThrow(/argument 2 \(kind 'f'\) must be a number/);
  });

  it('patches: their argument, kind and param', () => {
    const y = new addon.cpu.Buffer(context, 16);
    const args = [y, y, 1.5, 4];
    expect(() => make([{ kernel: saxpy, args, patches: [{ arg: 2, param: 0 }] }], 1)).toThrow(
      "cpu.Program: launch 0 (kernel saxpy): argument 2 is of kind 'f'; only 'p' and 'i' arguments take params",
    );
    expect(() => make([{ kernel: saxpy, args, patches: [{ arg: 4, param: 0 }] }], 1)).toThrow(
      "launch 0 (kernel saxpy): patch 0: arg 4 is past the kernel's 4 argument(s)",
    );
    expect(() => make([{ kernel: saxpy, args, patches: [{ arg: 3, param: 0 }, { arg: 3, param: 2 }] }], 2)).toThrow(
      "launch 0 (kernel saxpy): patch 1: param 2 is past the program's 2 param(s)",
    );
    expect(() => make([{ kernel: saxpy, args, patches: [{ arg: 3, param: 0, scale: 0.5 }] }], 1)).toThrow(/scale must be an integer/);
  });

  it('kernels, grids and options', () => {
    const y = new addon.cpu.Buffer(context, 16);
    expect(() => make([{ kernel: y, args: [] }])).toThrow('cpu.Program: launch 0: kernel must be a cpu.Kernel');
    expect(() => make([{ kernel: saxpy, grid: 0, args: [y, y, 1, 4] }])).toThrow(
      'cpu.Program: launch 0 (kernel saxpy): grid entries must be at least 1',
    );
    const gone = new addon.cpu.Kernel(module, 'saxpy');
    gone.dispose();
    expect(() => make([{ kernel: gone, args: [y, y, 1, 4] }])).toThrow('cpu kernel saxpy was disposed');
    expect(() => new addon.cpu.Program(context, {} as never)).toThrow('cpu.Program: launches must be an array');
    expect(() => new addon.cpu.Program({} as CpuContext, { launches: [] })).toThrow('cpu.Program: context must be a cpu.Context');
  });
});

describe('cpu.Program.run checks its inputs before any block runs', () => {
  it('params, grids and block counts, naming the launch', () => {
    const out = new addon.cpu.Buffer(context, 8 * 8);
    out.fill(0);
    const program = new addon.cpu.Program(context, {
      params: 1,
      launches: [
        { kernel: iota, args: [out, 1, 1, 8] },
        { kernel: iota, args: [out, 0, 1, 8], patches: [{ arg: 3, param: 0 }] },
      ],
    });
    const grids = new Int32Array([1, 1, 1, 1, 1, 1]);
    expect(() => program.run({ grids })).toThrow('cpu.Program.run: params: the program takes 1 param(s)');
    expect(() => program.run({ params: [1, 2], grids })).toThrow('cpu.Program.run: params: the program takes 1 param(s), got 2');
    expect(() => program.run({ params: [8] })).toThrow('cpu.Program.run: launch 0 (kernel iota_i64) has no static grid: pass grids (3 per launch)');
    expect(() => program.run({ params: [8], grids: new Int32Array(3) })).toThrow(
      "cpu.Program.run: grids has 3 entries; the program's 2 launch(es) need 6",
    );
    expect(() => program.run({ params: [8], grids: new Float64Array(6) as unknown as Int32Array })).toThrow(/grids must be an Int32Array/);
    expect(() => program.run({ params: [8], grids: new Int32Array([1, 1, 1, 65536, 65536, 1]) })).toThrow(
      'cpu.Program.run: launch 1 (kernel iota_i64): 4294967296 blocks; at most 2^31 - 1',
    );
    const values = new BigInt64Array(8);
    out.read(values);
    expect(values.every((v) => v === 0n)).toBe(true); // nothing ran
  });
});

describe('Device.createProgram on the cpu (what the executor runs)', () => {
  it('pointers with a per-run row offset and int64 symbols from params', () => {
    const device = openDevice('cpu', addon);
    const kernel = device.loadKernel(libraryPath, 'iota_i64');
    const memory = device.alloc(4 * 16 * 8, 'rows');
    memory.fill(0);
    // params [n, row]: iota(out = row base, start = n, step = n, count = n)
    const program = device.createProgram(
      [{ kernel, block: [1, 1, 1], sharedBytes: 0, pointers: [{ address: memory.address, param: 1, scale: 16 * 8 }], ints: [0, 0, 0] }],
      2,
    );
    expect(program.run(new Int32Array([3, 2]), new Int32Array([2, 1, 1]), true)).toBe('launched');
    const values = new BigInt64Array(4 * 16);
    memory.read(values);
    expect([...values.slice(32, 36)]).toEqual([3n, 6n, 9n, 0n]);
    expect(values.slice(0, 32).every((v) => v === 0n)).toBe(true);
    expect(program.graphs).toBe(0);
    program.dispose();
    expect(() =>
      device.createProgram([{ kernel: { name: 'foreign', launch() {} }, block: [1, 1, 1], sharedBytes: 0, pointers: [], ints: [] }], 0),
    ).toThrow(/kernel foreign was not loaded by this device/);
    memory.dispose();
    device.dispose();
  });
});
