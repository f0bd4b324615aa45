/**
 * The addon loads on every machine, and probe() reports what is missing instead of crashing:
 * without a GPU, CUDA and NCCL say which library is missing, HIP the same or, where the runtime is
 * installed (it comes with hipcc), that hipInit failed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { NATIVE_ADDON_ABI_VERSION, type ProbeResult } from '../../runtime/src/native/addon-types.ts';
import {
  BUILD_COMMAND,
  NativeAddonError,
  defaultAddonPath,
  loadAddon,
  probeInChildProcess,
} from '../../runtime/src/native/load-addon.ts';
import { FIXTURES, buildSharedLibrary, tempDir } from './native-support.ts';

const addonPath = defaultAddonPath();

/** Whether the dynamic linker can find a library at all (ldconfig's cache). */
function linkerKnows(soname: string): boolean {
  const result = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes(soname);
}

function expectMissing(probe: ProbeResult['cuda'] | ProbeResult['nccl'], soname: string): void {
  expect(probe.available).toBe(false);
  expect(probe.error).toMatch(new RegExp(`cannot load ${soname.replace(/\./g, '\\.')}`));
}

describe('loading the native addon', () => {
  it('is built where the loader looks', () => {
    expect(existsSync(addonPath), `${addonPath} missing: run ${BUILD_COMMAND}`).toBe(true);
  });

  it('loads with plain `node -e` and its probe() prints JSON', () => {
    const script = `const a = require(${JSON.stringify(addonPath)}); console.log(JSON.stringify(a.probe()))`;
    const out = execFileSync(process.execPath, ['--input-type=commonjs', '-e', script], { encoding: 'utf8' });
    const probe = JSON.parse(out) as ProbeResult;
    expect(Object.keys(probe).sort()).toEqual(['cpu', 'cuda', 'hip', 'nccl']);
    expect(probe.cpu.threads).toBeGreaterThanOrEqual(1);
  });

  it('exposes the surface addon-types.ts describes', () => {
    const addon = loadAddon();
    expect(addon.abiVersion).toBe(NATIVE_ADDON_ABI_VERSION);
    expect(addon.cpuKernelAbiVersion).toBe(1);
    for (const backend of [addon.cuda, addon.hip]) {
      expect(Object.keys(backend).sort()).toEqual(['Buffer', 'Context', 'Event', 'Kernel', 'Module', 'Program', 'Stream']);
    }
    expect(Object.keys(addon.cpu).sort()).toEqual(['Buffer', 'Context', 'Kernel', 'Module', 'Program']);
  });

  it('names the missing file and the build command when the addon is not built', () => {
    const missing = path.join(tempDir('no-addon'), 'dsv3c_native.node');
    expect(() => loadAddon(missing)).toThrow(NativeAddonError);
    expect(() => loadAddon(missing)).toThrow(new RegExp(`not found at ${missing}.*npm run build:native`));
  });
});

describe('probe() on this machine', () => {
  const probe = loadAddon().probe();

  it.runIf(!linkerKnows('libcuda.so.1'))('reports no CUDA driver, naming libcuda, without throwing', () => {
    expectMissing(probe.cuda, 'libcuda.so.1');
    expect(probe.cuda.devices).toBeUndefined();
  });

  it.runIf(!linkerKnows('libamdhip64.so'))('reports no HIP runtime, naming libamdhip64', () => {
    expectMissing(probe.hip, 'libamdhip64.so');
  });

  it.runIf(!linkerKnows('libnccl.so.2'))('reports no NCCL, naming libnccl', () => {
    expectMissing(probe.nccl, 'libnccl.so.2');
  });

  it('is consistent whatever the machine: available with devices, or an error string', () => {
    for (const gpu of [probe.cuda, probe.hip]) {
      if (gpu.available) expect(gpu.devices?.length).toBeGreaterThan(0);
      else expect(gpu.error).toMatch(/^(cuda|hip): /);
    }
  });

  it.runIf(!linkerKnows('libcuda.so.1'))('throws the load error when a CUDA context is asked for', () => {
    const addon = loadAddon();
    expect(() => new addon.cuda.Context(0)).toThrow(/^cuda: cannot load libcuda\.so\.1/);
  });

  // Debian's hipcc (scripts/install-system-deps.sh) brings the HIP runtime but no GPU: then probe()
  // and a context both say hipInit failed; without the runtime both say it cannot be loaded.
  it.runIf(!probe.hip.available)('throws the probe error when a HIP context is asked for', () => {
    const addon = loadAddon();
    expect(() => new addon.hip.Context(0)).toThrow(probe.hip.error!);
  });

  it('gives the same answer from a child process', async () => {
    const child = await probeInChildProcess();
    expect(child.cuda).toEqual(probe.cuda);
    expect(child.hip).toEqual(probe.hip);
    expect(child.nccl).toEqual(probe.nccl);
  });

  it('reports a library that is not HIP or NCCL by the entry point it lacks', async () => {
    const notRuntime = buildSharedLibrary(path.join(FIXTURES, 'cpu_kernels.cc'), 'not-hip');
    const child = await probeInChildProcess({
      env: { ...process.env, DSV3C_LIBHIP: notRuntime, DSV3C_LIBNCCL: notRuntime },
    });
    expect(child.hip).toEqual({ available: false, error: `hip: ${notRuntime} has no hipGetErrorName` });
    expect(child.nccl).toEqual({ available: false, error: `nccl: ${notRuntime} has no ncclGetVersion` });
  });

  it('sizes the cpu pool from DSV3C_CPU_THREADS', async () => {
    const child = await probeInChildProcess({ env: { ...process.env, DSV3C_CPU_THREADS: '3' } });
    expect(child.cpu.threads).toBe(3);
  });
});
