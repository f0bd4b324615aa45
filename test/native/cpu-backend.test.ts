/**
 * The cpu backend end to end: a kernel library built here with the system c++, loaded through the
 * addon, run on the thread pool over addon-owned buffers, checked against JS on fresh random
 * inputs; and every misuse a JS exception with a message that says what was wrong.
 */
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import type { CpuContext, CpuModule, NativeAddon } from '../../runtime/src/native/addon-types.ts';
import { loadAddon } from '../../runtime/src/native/load-addon.ts';
import { FIXTURES, buildSharedLibrary, tempDir } from './native-support.ts';

let addon: NativeAddon;
let context: CpuContext;
let module: CpuModule;
let libraryPath: string;

beforeAll(() => {
  addon = loadAddon();
  libraryPath = buildSharedLibrary(path.join(FIXTURES, 'cpu_kernels.cc'), 'cpu-kernels');
  context = new addon.cpu.Context();
  module = new addon.cpu.Module(context, libraryPath);
});

function randomFloats(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.random() * 2 - 1;
  return out;
}

describe('cpu kernels on the thread pool', () => {
  it('saxpy over 1e5 elements in 8 blocks equals the same float32 arithmetic in JS', () => {
    const n = 100_000;
    const x = randomFloats(n);
    const y = randomFloats(n);
    const a = Math.random() * 4 - 2;
    const xBuffer = new addon.cpu.Buffer(context, n * 4);
    const yBuffer = new addon.cpu.Buffer(context, n * 4);
    xBuffer.write(x);
    yBuffer.write(y);
    const saxpy = new addon.cpu.Kernel(module, 'saxpy');
    expect(saxpy.argKinds).toBe('ppfi');
    saxpy.launch({ blocks: 8, args: [yBuffer, xBuffer, a, n] });

    const out = new Float32Array(n);
    yBuffer.read(out);
    const af = Math.fround(a);
    let mismatches = 0;
    for (let i = 0; i < n; i++) {
      if (out[i] !== Math.fround(Math.fround(af * x[i]) + y[i])) mismatches++;
    }
    expect(mismatches).toBe(0);
    for (const resource of [saxpy, xBuffer, yBuffer]) resource.dispose();
  });

  it('runs every block exactly once per launch, across the pool threads', () => {
    const blocks = 64;
    const counts = new addon.cpu.Buffer(context, blocks * 4);
    const threads = new addon.cpu.Buffer(context, blocks * 8);
    counts.fill(0);
    const kernel = new addon.cpu.Kernel(module, 'count_blocks');
    const launches = 20;
    for (let i = 0; i < launches; i++) kernel.launch({ blocks, args: [counts, threads, 200] });
    const seen = new Int32Array(blocks);
    counts.read(seen);
    expect([...seen]).toEqual(new Array(blocks).fill(launches));
    const ids = new BigUint64Array(blocks);
    threads.read(ids);
    if (context.threads > 1) expect(new Set(ids).size).toBeGreaterThan(1);
  });

  it('passes 64-bit integers exactly, from numbers and bigints', () => {
    const n = 1000;
    const out = new addon.cpu.Buffer(context, n * 8);
    const kernel = new addon.cpu.Kernel(module, 'iota_i64');
    const start = -(2n ** 60n);
    kernel.launch({ blocks: 3, args: [out, start, 2n ** 40n + 3n, n] });
    const values = new BigInt64Array(n);
    out.read(values);
    for (let i = 0; i < n; i++) expect(values[i]).toBe(start + BigInt(i) * (2n ** 40n + 3n));
  });

  it('accepts a raw address plus offset for a pointer argument', () => {
    const n = 16;
    const buffer = new addon.cpu.Buffer(context, 2 * n * 8);
    buffer.fill(0);
    const kernel = new addon.cpu.Kernel(module, 'iota_i64');
    kernel.launch({ blocks: 1, args: [buffer.address + BigInt(n * 8), 7, 1, n] });
    const values = new BigInt64Array(2 * n);
    buffer.read(values);
    expect(values.slice(0, n).every((v) => v === 0n)).toBe(true);
    expect([...values.slice(n)]).toEqual(Array.from({ length: n }, (_, i) => BigInt(7 + i)));
  });

  it('reads and writes at byte offsets, within bounds only', () => {
    const buffer = new addon.cpu.Buffer(context, 16);
    buffer.write(new Uint8Array([1, 2, 3, 4]), 12);
    const tail = new Uint8Array(4);
    buffer.read(tail, 12);
    expect([...tail]).toEqual([1, 2, 3, 4]);
    expect(() => buffer.write(new Uint8Array(8), 12)).toThrow(/8 bytes at offset 12 do not fit in a buffer of 16 bytes/);
    expect(() => buffer.read(new Uint8Array(17))).toThrow(RangeError);
    expect(() => buffer.write(new Uint8Array(1), -1)).toThrow(/non-negative integer/);
  });
});

describe('cpu backend errors are JS exceptions with clear messages', () => {
  it('loading a library that does not exist', () => {
    const missing = path.join(tempDir('missing'), 'libnothing.so');
    expect(() => new addon.cpu.Module(context, missing)).toThrow(`cpu.Module: cannot load ${missing}`);
  });

  it('looking up a kernel that is not there', () => {
    expect(() => new addon.cpu.Kernel(module, 'nope')).toThrow(`${libraryPath} has no kernel named nope`);
  });

  it('a kernel exported without its DSV3C_KERNEL info', () => {
    expect(() => new addon.cpu.Kernel(module, 'no_info')).toThrow(/exports no_info but not no_info__dsv3c_info/);
  });

  it('a kernel built for another ABI, or declaring an unknown argument kind', () => {
    expect(() => new addon.cpu.Kernel(module, 'future_abi')).toThrow(/built for cpu kernel ABI 99, this addon runs ABI 1/);
    expect(() => new addon.cpu.Kernel(module, 'bad_kinds')).toThrow(/declares argument kinds "pz"/);
  });

  it('launching with the wrong number of arguments', () => {
    const saxpy = new addon.cpu.Kernel(module, 'saxpy');
    const y = new addon.cpu.Buffer(context, 16);
    expect(() => saxpy.launch({ blocks: 1, args: [y, y, 1.5] })).toThrow(
      'cpu kernel saxpy takes 4 argument(s) (kinds "ppfi"), got 3',
    );
  });

  it('launching with an argument of the wrong kind', () => {
    const saxpy = new addon.cpu.Kernel(module, 'saxpy');
    const y = new addon.cpu.Buffer(context, 16);
    expect(() => saxpy.launch({ blocks: 1, args: [y, 3, 1.5, 4] })).toThrow(
      /saxpy argument 1 \(kind 'p'\) must be a cpu.Buffer/,
    );
    expect(() => saxpy.launch({ blocks: 1, args: [y, y, 'a' as unknown as number, 4] })).toThrow(
      /argument 2 \(kind 'f'\) must be a number/,
    );
    expect(() => saxpy.launch({ blocks: 1, args: [y, y, 1.5, 2.5] })).toThrow(/argument 3 \(kind 'i'\) must be an integer/);
    expect(() => saxpy.launch({ blocks: 0, args: [y, y, 1.5, 4] })).toThrow(/blocks must be at least 1/);
  });

  it('using a disposed buffer, kernel or module', () => {
    const saxpy = new addon.cpu.Kernel(module, 'saxpy');
    const y = new addon.cpu.Buffer(context, 16);
    y.dispose();
    y.dispose();
    expect(y.disposed).toBe(true);
    expect(() => y.read(new Uint8Array(4))).toThrow('cpu.Buffer was disposed');
    expect(() => saxpy.launch({ blocks: 1, args: [y, y, 1, 4] })).toThrow('cpu.Buffer was disposed');
    saxpy.dispose();
    expect(() => saxpy.launch({ blocks: 1, args: [] })).toThrow('cpu kernel saxpy was disposed');
    const another = new addon.cpu.Module(context, libraryPath);
    another.dispose();
    expect(() => new addon.cpu.Kernel(another, 'saxpy')).toThrow('cpu.Module was disposed');
  });

  it('passing an object of the wrong class', () => {
    expect(() => new addon.cpu.Kernel(context as unknown as CpuModule, 'saxpy')).toThrow(
      'cpu.Kernel: module must be a cpu.Module',
    );
    expect(() => new addon.cpu.Buffer({} as CpuContext, 4)).toThrow('cpu.Buffer: context must be a cpu.Context');
  });

  it('a kernel keeps its library loaded after the module is disposed', () => {
    // A copy at its own path, so no other Module's dlopen keeps it mapped.
    const copy = path.join(tempDir('copy'), 'libcopy.so');
    copyFileSync(libraryPath, copy);
    const own = new addon.cpu.Module(context, copy);
    const kernel = new addon.cpu.Kernel(own, 'iota_i64');
    own.dispose();
    const out = new addon.cpu.Buffer(context, 8 * 4);
    kernel.launch({ blocks: 2, args: [out, 5, 5, 4] });
    const values = new BigInt64Array(4);
    out.read(values);
    expect([...values]).toEqual([5n, 10n, 15n, 20n]);
  });
});
