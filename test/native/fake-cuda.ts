/**
 * The fake libcuda (fixtures/fake_cuda.cc: host memory, one host "kernel") the CUDA tests without a
 * GPU load through $DSV3C_LIBCUDA, and what they read from it: its call trace, its end-of-process
 * report. Importing this module sets the environment, so it must come before anything loads the
 * CUDA backend in the process (vitest runs each test file in its own fork).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';

import type { GpuContext, NativeAddon } from '../../runtime/src/native/addon-types.ts';
import { defaultAddonPath, loadAddon } from '../../runtime/src/native/load-addon.ts';
import { KernelArgPacker } from '../../runtime/src/native/pack-args.ts';
import { FIXTURES, buildSharedLibrary, tempDir } from './native-support.ts';

export const fakeDriver = buildSharedLibrary(path.join(FIXTURES, 'fake_cuda.cc'), 'fake-cuda', ['-fvisibility=hidden']);
// Before anything loads the CUDA backend in this process (vitest runs each file in its own fork).
process.env.DSV3C_LIBCUDA = fakeDriver;
// The fake appends each launch, capture, graph and stream call here (read by traceSince).
const tracePath = path.join(tempDir('fake-cuda-trace'), 'calls.txt');
process.env.DSV3C_FAKE_CUDA_TRACE = tracePath;
let traceSeen = 0;

/** The driver calls traced since the last call of this. */
export function traceSince(): string[] {
  const lines = existsSync(tracePath) ? readFileSync(tracePath, 'utf8').split('\n').filter(Boolean) : [];
  const out = lines.slice(traceSeen);
  traceSeen = lines.length;
  return out;
}

/** Counts of each call in a trace. */
export function tally(calls: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[c] = (out[c] ?? 0) + 1;
  return out;
}

export const fakeCubin = path.join(tempDir('fake-cubin'), 'saxpy.cubin');
writeFileSync(fakeCubin, 'FAKECUBIN\n');

/** The addon on the fake driver, and a context on its one device. */
export function openFakeCuda(): { addon: NativeAddon; context: GpuContext } {
  const addon = loadAddon();
  const probe = addon.probe().cuda;
  expect(probe.error, 'the fake driver must be the first libcuda this process loads').toBeUndefined();
  return { addon, context: new addon.cuda.Context(0) };
}

export function saxpyArgs(y: bigint, x: bigint, a: number, n: number): Uint8Array {
  return new KernelArgPacker().ptr(y).ptr(x).f32(a).i32(n).bytes();
}

/** Runs `body` in a fresh node with the fake driver; returns its FAKE_CUDA_REPORT and stdout. */
export function runWithFakeDriver(
  body: string,
  nodeFlags: string[] = [],
  env: Record<string, string> = {},
): { report: Record<string, unknown>; stdout: string } {
  const script =
    `const addon = require(${JSON.stringify(defaultAddonPath())});` +
    `const cubin = ${JSON.stringify(fakeCubin)};` +
    `(async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });`;
  const result = spawnSync(process.execPath, [...nodeFlags, '--input-type=commonjs', '-e', script], {
    env: { ...process.env, DSV3C_LIBCUDA: fakeDriver, DSV3C_FAKE_CUDA_TRACE: '', ...env },
    encoding: 'utf8',
  });
  expect(result.status, result.stderr).toBe(0);
  const line = result.stderr.split('\n').find((l) => l.startsWith('FAKE_CUDA_REPORT '));
  expect(line, result.stderr).toBeDefined();
  return { report: JSON.parse(line!.slice('FAKE_CUDA_REPORT '.length)), stdout: result.stdout };
}

/** The fake's report of a process that released everything. */
export const CLEAN = { retains: 0, allocations: 0, streams: 0, events: 0, modules: 0, graphs: 0, graphExecs: 0, captures: 0, violations: '' };
