/**
 * Every GPU instance of DeepSeek-V3's schedule (prefill and decode, W8A8 and W8A16; one rank and
 * the rank graphs of a tp=8 and an ep=8 mesh) compiles:
 * CUDA with nvcc for sm_90a and sm_80, HIP with hipcc for gfx90a and gfx940 (Debian's, which
 * scripts/install-system-deps.sh installs), one translation unit per arch built in parallel, with
 * the compiler's per-kernel report (ptxas -v, clang's AMDGPU resource remarks) read back to assert
 * each kernel exists and spills nothing. Without a compiler the tests say which one is absent.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../compiler/compile-model.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import type { Dialect } from '../../compiler/codegen/dialect.ts';
import { cudaDialect, hipDialect } from '../../compiler/codegen/dialect.ts';
import type { KernelInstance } from '../../compiler/codegen/instances.ts';
import { planKernels } from '../../compiler/codegen/instances.ts';
import { argv, buildCommand, buildEnv } from '../../compiler/codegen/build.ts';
import { renderModule } from '../../compiler/codegen/render.ts';
import { tempDir } from '../native/native-support.ts';
import type { AmdEntry, PtxasEntry, ToolRun } from './toolchains.ts';
import { HIPCC, NVCC, parseAmdResourceUsage, parsePtxas, runTool } from './toolchains.ts';

const v3 = loadConfig('configs/deepseek-v3.json');
const MESHES = [{ tp: 1, ep: 1 }, { tp: 8, ep: 1 }, { tp: 1, ep: 8 }];
const phases = MESHES.flatMap((mesh) => (['fp8', 'none'] as const).flatMap((actQuant) => compileModel(v3, { actQuant, disabledPasses: [], mesh })));

function instancesFor(d: Dialect): KernelInstance[] {
  const all = new Map<string, KernelInstance>();
  for (const p of phases) for (const i of planKernels(p.schedule, d).instances) all.set(i.name, i);
  return [...all.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

const CUDA = [{ dialect: cudaDialect('sm_90a') }, { dialect: cudaDialect('sm_80') }];

describe.skipIf(!NVCC)('CUDA instances of DeepSeek-V3 compile without spills', () => {
  const built = new Map<string, { run: ToolRun; entries: Map<string, PtxasEntry>; instances: KernelInstance[] }>();

  beforeAll(async () => {
    const dir = tempDir('codegen-cuda');
    await Promise.all(
      CUDA.map(async ({ dialect }) => {
        const instances = instancesFor(dialect);
        const source = path.join(dir, `kernels_${dialect.arch}.cu`);
        writeFileSync(source, renderModule(instances, dialect, 'deepseek-v3'));
        const cmd = buildCommand(dialect, 'object', NVCC!);
        const run = await runTool(NVCC!, argv(cmd, source, `${source}.o`, ['-Xptxas', '-v']), buildEnv(cmd));
        built.set(dialect.arch, { run, entries: parsePtxas(run.output), instances });
        console.log(`nvcc ${dialect.arch}: ${instances.length} instances in one translation unit, ${run.seconds.toFixed(1)} s`);
      }),
    );
  }, 600_000);

  it.each(CUDA.map((c) => c.dialect.arch))('%s: nvcc succeeds and ptxas reports 0 bytes spilled for every entry', (arch) => {
    const { run, entries, instances } = built.get(arch)!;
    expect(run.code, run.output.slice(-4000)).toBe(0);
    for (const inst of instances) {
      const e = entries.get(inst.name);
      expect(e, `ptxas compiled no entry ${inst.name}`).toBeDefined();
      expect([e!.spillStores, e!.spillLoads], `${inst.name} spills`).toEqual([0, 0]);
    }
    const biggest = [...entries.values()].sort((a, b) => b.registers - a.registers).slice(0, 5);
    console.log(`${arch} most registers:\n${biggest.map((e) => `  ${e.registers} regs, ${e.stackBytes} B stack, ${e.sharedBytes} B smem: ${e.name}`).join('\n')}`);
  });
});

if (!NVCC) describe('CUDA compile', () => it.skip('skipped: nvcc is absent (looked in /usr/local/cuda/bin and on PATH)', () => {}));

const HIP = [hipDialect('gfx90a'), hipDialect('gfx940')];

// The same instances, one translation unit per arch, both archs at once. hipcc compiles device
// code for the one --offload-arch; -Rpass-analysis=kernel-resource-usage makes clang print each
// kernel's registers, scratch and spills, as ptxas -v does for CUDA.
describe.skipIf(!HIPCC)('HIP instances of DeepSeek-V3 compile without spills', () => {
  const built = new Map<string, { run: ToolRun; entries: Map<string, AmdEntry>; instances: KernelInstance[] }>();

  beforeAll(async () => {
    const dir = tempDir('codegen-hip');
    await Promise.all(
      HIP.map(async (dialect) => {
        const instances = instancesFor(dialect);
        const source = path.join(dir, `kernels_${dialect.arch}.hip`);
        writeFileSync(source, renderModule(instances, dialect, 'deepseek-v3'));
        const cmd = buildCommand(dialect, 'object', HIPCC!);
        const run = await runTool(HIPCC!, argv(cmd, source, `${source}.o`, ['-Rpass-analysis=kernel-resource-usage']), buildEnv(cmd));
        built.set(dialect.arch, { run, entries: parseAmdResourceUsage(run.output), instances });
        console.log(`hipcc ${dialect.arch}: ${instances.length} instances in one translation unit, ${run.seconds.toFixed(1)} s`);
      }),
    );
  }, 600_000);

  it.each(HIP.map((d) => d.arch))('%s: hipcc succeeds and reports 0 VGPR and SGPR spills for every kernel', (arch) => {
    const { run, entries, instances } = built.get(arch)!;
    // Errors only: the remarks (several lines a kernel) would bury them.
    expect(run.code, run.output.split('\n').filter((l) => !l.includes('kernel-resource-usage')).join('\n').slice(-4000)).toBe(0);
    for (const inst of instances) {
      const e = entries.get(inst.name);
      expect(e, `hipcc compiled no kernel ${inst.name}`).toBeDefined();
      expect([e!.vgprSpill, e!.sgprSpill], `${inst.name} spills`).toEqual([0, 0]);
    }
    const biggest = [...entries.values()].sort((a, b) => b.vgprs - a.vgprs).slice(0, 5);
    console.log(`${arch} most VGPRs:\n${biggest.map((e) => `  ${e.vgprs} VGPRs, ${e.sgprs} SGPRs, ${e.scratchBytes} B scratch, ${e.ldsBytes} B LDS: ${e.name}`).join('\n')}`);
  });
});

if (!HIPCC) describe('HIP compile', () => it.skip('skipped: hipcc is absent (looked in /opt/rocm/bin and on PATH; scripts/install-system-deps.sh installs it with apt)', () => {}));
