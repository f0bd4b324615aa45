/**
 * The `sample` kernel family. cpu: instances for V in {384, 1000, 4099, 129280} (one strided
 * logits view, several radix widths and row chunks) built with the system c++ into one library,
 * launched through the native addon for B in {1, 5} on fresh random logits (normal, coarse with
 * many exact ties, partly −∞) and compared with the float64 reference `sampleRow`: greedy rows
 * exactly; sampling rows with random temperature/top_p/uniform exactly too, except that a row
 * whose reference choice changes when top_p or uniform moves by 1e-9 (a knife edge, far below
 * float32 rounding) may take the choice from the nudged inputs — such rows are counted, printed
 * and must stay rare. The kernel's masses are float64, so none are expected.
 * CUDA: the instances for DeepSeek-V3's V = 129280 over the whole tunable space compile with nvcc
 * for sm_90a (and the default one for sm_80) with 0 bytes spilled; where a CUDA device exists they
 * run against the same reference. HIP compiles where hipcc exists.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { argv, buildCommand } from '../../compiler/codegen/build.ts';
import type { Dialect } from '../../compiler/codegen/dialect.ts';
import { CPU_DIALECT, cudaDialect, hipDialect } from '../../compiler/codegen/dialect.ts';
import { evalExpr } from '../../compiler/codegen/expr.ts';
import type { KernelInstance } from '../../compiler/codegen/instances.ts';
import { instanceFor } from '../../compiler/codegen/instances.ts';
import type { NodeOperands, Tunables } from '../../compiler/codegen/kernel-family.ts';
import { familyFor } from '../../compiler/codegen/kernel-family.ts';
import { contiguousStrides, mono } from '../../compiler/codegen/layout.ts';
import { renderModule } from '../../compiler/codegen/render.ts';
import type { Node } from '../../compiler/ir/graph.ts';
import { getOp } from '../../compiler/ir/op.ts';
import { sampleRow } from '../../compiler/ir/ops/sample.ts';
import { tensor } from '../../compiler/ir/tensor.ts';
import { tensorType } from '../../compiler/ir/types.ts';
import type { Dim } from '../../compiler/ir/types.ts';
import type { CpuBuffer, CpuContext, CpuModule, GpuBuffer, GpuContext, GpuModule, NativeAddon } from '../../runtime/src/native/addon-types.ts';
import { loadAddon } from '../../runtime/src/native/load-addon.ts';
import { KernelArgPacker } from '../../runtime/src/native/pack-args.ts';
import { Rng } from '../reference/prng.ts';
import { tempDir } from '../native/native-support.ts';
import { HIPCC, NVCC, parsePtxas, runTool } from './toolchains.ts';
import '../../compiler/ir/ops/index.ts';

const family = familyFor('sample')!;

/** A sample node over logits [rows, V] (row stride `stride`, V when dense) and its operands. */
function sampleNode(V: number, rows: Dim, stride = V): { node: Node; operands: NodeOperands } {
  const vec = { dtype: 'f32' as const, shape: [rows], strides: contiguousStrides([rows]) };
  const operands: NodeOperands = {
    inputs: [{ dtype: 'f32', shape: [rows, V], strides: [mono(stride), mono(1)] }, vec, vec, vec],
    outputs: [{ dtype: 'i32', shape: [rows], strides: contiguousStrides([rows]) }],
  };
  const node: Node = { op: 'sample', inputs: [0, 1, 2, 3], attrs: {}, outputs: [{ id: 4, type: tensorType('i32', [rows]) }], scope: 'head.sample' };
  return { node, operands };
}

function instance(d: Dialect, V: number, tunables: Partial<Tunables> = {}, stride = V): KernelInstance {
  const { node, operands } = sampleNode(V, 'B', stride);
  return instanceFor(family, node, operands, d, { tunables: { sample: tunables } });
}

// ---------------------------------------------------------------------------------------------
// The reference

describe('the float64 reference', () => {
  it('infers i32 [N] and checks its operands', () => {
    const op = getOp('sample');
    const f = (shape: Dim[]) => tensorType('f32', shape);
    expect(op.infer([f(['B', 7]), f(['B']), f(['B']), f(['B'])], {})).toEqual([tensorType('i32', ['B'])]);
    expect(() => op.infer([f(['B', 7]), f(['B']), f(['T']), f(['B'])], {})).toThrow(/top_p length is T, expected B/);
    expect(() => op.infer([tensorType('bf16', ['B', 7]), f(['B']), f(['B']), f(['B'])], {})).toThrow(/logits has dtype bf16/);
  });

  it('greedy: the first maximum; -0 equals +0', () => {
    expect(sampleRow([1, 3, 3, 2], 0, 0.9, 0.5)).toBe(1);
    expect(sampleRow([-0, 0, -1], -1, 1, 0)).toBe(0);
  });

  it('top_p keeps the shortest prefix reaching it, ties by index; uniform picks by cumulative mass', () => {
    // p = [0.1, 0.4, 0.1, 0.4] (logits log p, temperature 1): order 1, 3, 0, 2.
    const logits = [0.1, 0.4, 0.1, 0.4].map(Math.log);
    expect(sampleRow(logits, 1, 0.5, 0)).toBe(1);
    expect(sampleRow(logits, 1, 0.5, 0.99)).toBe(3); // kept {1, 3}, mass 0.8: 0.792 falls in token 3
    expect(sampleRow(logits, 1, 0.4, 0.99)).toBe(1); // 0.4 already reaches top_p 0.4
    expect(sampleRow(logits, 1, 0.85, 0.95)).toBe(0); // kept {1, 3, 0}: 0.9 · 0.95 = 0.855 > 0.8
    expect(sampleRow(logits, 1, 1, 0.95)).toBe(2);
    expect(sampleRow(logits, 1, 1, 0.85)).toBe(0);
  });

  it('runs as the op reference over rows', () => {
    const [ids] = getOp('sample').reference([tensor([2, 3], [0, 5, 1, 9, 2, 3]), tensor([2], [0, 0]), tensor([2], [1, 1]), tensor([2], [0, 0])], {}, {});
    expect([...ids.data]).toEqual([1, 0]);
  });
});

// ---------------------------------------------------------------------------------------------
// Random rows and the comparison

interface Case {
  readonly B: number;
  readonly logits: Float32Array; // [B, stride]
  readonly temperature: Float32Array;
  readonly topP: Float32Array;
  readonly uniform: Float32Array;
}

type Kind = 'greedy' | 'normal' | 'ties' | 'masked';

function randomCase(rng: Rng, V: number, stride: number, B: number, kind: Kind): Case {
  const logits = new Float32Array(B * stride).fill(Number.NaN); // the gap between rows of a strided view is poison
  const scale = 0.5 + 4 * rng.next();
  for (let n = 0; n < B; n++) {
    for (let i = 0; i < V; i++) {
      let x = rng.normal() * scale;
      if (kind === 'ties') x = Math.round(x * 2) / 2; // few distinct values: long runs of equal probabilities
      if (kind === 'masked' && rng.next() < 0.3) x = -Infinity;
      logits[n * stride + i] = x;
    }
  }
  const f32 = (f: () => number) => Float32Array.from({ length: B }, f);
  // Greedy rows: every row of a 'greedy' case, and about one in six of the others (ties included).
  const temperature = f32(() => (kind === 'greedy' || rng.next() < 0.15 ? [0, -1, 0][rng.int(3)] : 0.05 + 2 * rng.next()));
  const topP = f32(() => (rng.next() < 0.2 ? 1 : 0.01 + 0.99 * rng.next()));
  const uniform = f32(() => rng.next());
  return { B, logits, temperature, topP, uniform };
}

const EPS = 1e-9;

/** Reference choices for row n: exact, and (computed when asked) with top_p and uniform nudged by ±EPS. */
function referenceChoices(c: Case, V: number, stride: number, n: number): { exact: number; nudged: () => Set<number> } {
  const row = Float64Array.from(c.logits.subarray(n * stride, n * stride + V));
  const [t, p, u] = [c.temperature[n], c.topP[n], c.uniform[n]];
  const nudged = () => {
    const out = new Set<number>();
    if (t > 0) for (const dp of [-EPS, 0, EPS]) for (const du of [-EPS, 0, EPS]) out.add(sampleRow(row, t, Math.min(1, p + dp), Math.max(0, u + du)));
    return out;
  };
  return { exact: sampleRow(row, t, p, u), nudged };
}

interface Tally {
  rows: number;
  knifeEdges: string[];
}

/** Problems of the kernel's ids against the reference; knife-edge rows are tallied, not problems. */
function check(c: Case, V: number, stride: number, got: Int32Array, tally: Tally, label: string): string[] {
  const problems: string[] = [];
  for (let n = 0; n < c.B; n++) {
    tally.rows++;
    const { exact, nudged } = referenceChoices(c, V, stride, n);
    if (got[n] === exact) continue;
    const what = `${label} row ${n}: kernel ${got[n]}, reference ${exact} (temperature ${c.temperature[n]}, top_p ${c.topP[n]}, uniform ${c.uniform[n]})`;
    if (nudged().has(got[n])) tally.knifeEdges.push(what);
    else problems.push(what);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// cpu: built once, launched through the addon

const CPU_CASES: { V: number; tunables?: Partial<Tunables>; stride?: number; trials: number }[] = [
  { V: 384, trials: 12 },
  { V: 1000, trials: 12 },
  { V: 4099, trials: 8 },
  { V: 1000, stride: 1003, tunables: { ROWS: 4 }, trials: 8 },
  { V: 1000, tunables: { RADIX_BITS: 1 }, trials: 6 },
  { V: 4099, tunables: { RADIX_BITS: 4, ROWS: 4 }, trials: 6 },
  { V: 129280, trials: 1 },
];

describe('cpu instances match the reference', () => {
  const instances = CPU_CASES.map((k) => instance(CPU_DIALECT, k.V, k.tunables, k.stride));
  let addon: NativeAddon;
  let context: CpuContext;
  let module: CpuModule;
  const tally: Tally = { rows: 0, knifeEdges: [] };

  beforeAll(() => {
    const dir = tempDir('codegen-sample');
    const source = path.join(dir, 'sample.cc');
    const unique = [...new Map(instances.map((i) => [i.name, i])).values()];
    writeFileSync(source, renderModule(unique, CPU_DIALECT, 'sample-test'));
    const lib = path.join(dir, 'libsample.so');
    const cmd = buildCommand(CPU_DIALECT, 'loadable');
    execFileSync(cmd.tool, argv(cmd, source, lib), { stdio: ['ignore', 'inherit', 'inherit'] });
    addon = loadAddon();
    context = new addon.cpu.Context();
    module = new addon.cpu.Module(context, lib);
  }, 180_000);

  function run(inst: KernelInstance, c: Case): Int32Array {
    const buffers = [c.logits, c.temperature, c.topP, c.uniform].map((a) => {
      const b = new addon.cpu.Buffer(context, a.byteLength);
      b.write(a);
      return b;
    });
    const out = new addon.cpu.Buffer(context, 4 * c.B);
    out.fill(0xff);
    const kernel = new addon.cpu.Kernel(module, inst.name);
    const grid = inst.launch.grid.map((g) => evalExpr(g, { B: c.B }));
    kernel.launch({ blocks: grid[0] * grid[1] * grid[2], args: [...buffers, out, c.B] as (CpuBuffer | number)[] });
    const ids = new Int32Array(c.B);
    out.read(ids);
    kernel.dispose();
    for (const b of [...buffers, out]) b.dispose();
    return ids;
  }

  const table = CPU_CASES.flatMap((k, i) =>
    [1, 5].flatMap((B) => (['greedy', 'normal', 'ties', 'masked'] as const).map((kind) => [`V ${k.V}${k.stride ? ` (stride ${k.stride})` : ''} ${JSON.stringify(k.tunables ?? {})} B ${B} ${kind}`, i, B, kind] as const)),
  );

  it.each(table)('%s', (label, i, B, kind) => {
    const { V, stride = V, trials } = CPU_CASES[i];
    const seed = (Math.random() * 2 ** 32) >>> 0;
    const rng = new Rng(seed);
    const problems: string[] = [];
    for (let trial = 0; trial < trials; trial++) {
      const c = randomCase(rng, V, stride, B, kind);
      problems.push(...check(c, V, stride, run(instances[i], c), tally, `${label} seed ${seed} trial ${trial}`));
    }
    expect(problems, `${instances[i].name}, seed ${seed}`).toEqual([]);
  });

  it('knife edges (reference choice changes under a 1e-9 nudge) are rare', () => {
    console.log(`sample cpu: ${tally.rows} rows, ${tally.knifeEdges.length} knife-edge rows${tally.knifeEdges.length ? `:\n  ${tally.knifeEdges.join('\n  ')}` : ''}`);
    expect(tally.rows).toBeGreaterThan(1000);
    expect(tally.knifeEdges.length).toBeLessThanOrEqual(Math.ceil(tally.rows / 200));
  });

  it('rejects a tunable outside its space, or a pair the constraints forbid, before rendering', () => {
    expect(() => instance(CPU_DIALECT, 384, { RADIX_BITS: 3 })).toThrow(/RADIX_BITS=3 is outside its space/);
    expect(() => instance(cudaDialect('sm_90a'), 384, { THREADS: 1024, RADIX_BITS: 4 })).toThrow(/float64 sums spill/);
    expect(gpuSpace(cudaDialect('sm_90a')).length).toBe(10);
  });
});

// ---------------------------------------------------------------------------------------------
// CUDA: compile for DeepSeek-V3's vocabulary over the tunable space; 0 spills

const V3_VOCAB = 129280;
/** Every THREADS x RADIX_BITS pair the family's constraints allow (1024 threads only with RADIX_BITS 1). */
const gpuSpace = (d: Dialect) =>
  family.tunables.gpu.THREADS.space.flatMap((THREADS) =>
    family.tunables.gpu.RADIX_BITS.space.flatMap((RADIX_BITS) => {
      try {
        return [instance(d, V3_VOCAB, { THREADS, RADIX_BITS })];
      } catch (e) {
        if (/RADIX_BITS == 1/.test((e as Error).message)) return [];
        throw e;
      }
    }),
  );

describe.skipIf(!NVCC)('CUDA sample instances compile without spills', () => {
  it.each([
    ['sm_90a, every THREADS x RADIX_BITS', cudaDialect('sm_90a'), true],
    ['sm_80, the default', cudaDialect('sm_80'), false],
  ] as const)('%s', async (_, dialect, all) => {
    const instances = all ? gpuSpace(dialect) : [instance(dialect, V3_VOCAB)];
    const dir = tempDir('codegen-sample-cuda');
    const source = path.join(dir, `sample_${dialect.arch}.cu`);
    writeFileSync(source, renderModule(instances, dialect, 'deepseek-v3'));
    const run = await runTool(NVCC!, argv(buildCommand(dialect, 'object', NVCC!), source, `${source}.o`, ['-Xptxas', '-v']));
    expect(run.code, run.output.slice(-4000)).toBe(0);
    const entries = parsePtxas(run.output);
    console.log(`nvcc ${dialect.arch}: ${instances.length} sample instances in ${run.seconds.toFixed(1)} s; ${[...entries.values()].map((e) => `${e.name.replace(/^sample__.*__/, '')}: ${e.registers} regs, ${e.spillStores}/${e.spillLoads} B spilled`).join('; ')}`);
    for (const inst of instances) {
      const e = entries.get(inst.name);
      expect(e, `ptxas compiled no entry ${inst.name}`).toBeDefined();
      expect([e!.spillStores, e!.spillLoads], `${inst.name} spills`).toEqual([0, 0]);
    }
  }, 600_000);
});
if (!NVCC) describe('CUDA sample compile', () => it.skip('skipped: nvcc is absent (looked in /usr/local/cuda/bin and on PATH)', () => {}));

describe.skipIf(!HIPCC)('HIP sample instances compile', () => {
  it.each([hipDialect('gfx90a'), hipDialect('gfx940')].map((d) => [d.arch, d] as const))('%s', async (_, dialect) => {
    const dir = tempDir('codegen-sample-hip');
    const source = path.join(dir, `sample_${dialect.arch}.hip`);
    writeFileSync(source, renderModule([instance(dialect, V3_VOCAB)], dialect, 'deepseek-v3'));
    const run = await runTool(HIPCC!, argv(buildCommand(dialect, 'object', HIPCC!), source, `${source}.o`), { ...process.env, HIP_PLATFORM: 'amd' });
    expect(run.code, run.output.slice(-4000)).toBe(0);
  }, 600_000);
});
if (!HIPCC) describe('HIP sample compile', () => it.skip('skipped: hipcc is absent (looked in /opt/rocm/bin and on PATH)', () => {}));

// ---------------------------------------------------------------------------------------------
// CUDA on a device, where there is one

const deviceAddon = (() => {
  try {
    return loadAddon();
  } catch {
    return null;
  }
})();
const probe = deviceAddon?.probe().cuda;
const cc = probe?.available ? probe.devices?.[0]?.computeCapability : undefined;
const deviceDialect: Dialect | null = cc === '9.0' ? cudaDialect('sm_90a') : cc?.startsWith('8.') ? cudaDialect('sm_80') : null;
const noDevice = !probe?.available ? `no CUDA device: ${probe?.error ?? 'probe found none'}` : !NVCC ? 'nvcc is absent' : !deviceDialect ? `no dialect for compute capability ${cc}` : '';
if (noDevice) describe('CUDA sample on a device', () => it.skip(`skipped: ${noDevice}`, () => {}));

describe.skipIf(noDevice !== '')('CUDA sample instances on the device match the reference', () => {
  const cases = [
    { V: 384, tunables: {} },
    { V: 4099, tunables: { THREADS: 128, RADIX_BITS: 1 } },
    { V: 4099, tunables: { THREADS: 1024, RADIX_BITS: 2 } },
    { V: V3_VOCAB, tunables: {} },
  ];
  const instances = deviceDialect ? cases.map((k) => instance(deviceDialect, k.V, k.tunables)) : [];
  let context: GpuContext;
  let module: GpuModule;
  const tally: Tally = { rows: 0, knifeEdges: [] };

  beforeAll(() => {
    const dir = tempDir('codegen-sample-cuda-run');
    const source = path.join(dir, 'sample.cu');
    writeFileSync(source, renderModule(instances, deviceDialect!, 'sample-test'));
    const cubin = path.join(dir, 'sample.cubin');
    execFileSync(NVCC!, argv(buildCommand(deviceDialect!, 'loadable', NVCC!), source, cubin), { stdio: ['ignore', 'inherit', 'inherit'] });
    context = new deviceAddon!.cuda.Context(0);
    module = new deviceAddon!.cuda.Module(context, cubin);
  }, 600_000);

  it.each(cases.flatMap((k, i) => (['greedy', 'normal', 'ties', 'masked'] as const).map((kind) => [`V ${k.V} ${JSON.stringify(k.tunables)} B 5 ${kind}`, i, kind] as const)))('%s', (label, i, kind) => {
    const a = deviceAddon!;
    const { V } = cases[i];
    const seed = (Math.random() * 2 ** 32) >>> 0;
    const rng = new Rng(seed);
    const problems: string[] = [];
    for (let trial = 0; trial < (V > 10_000 ? 2 : 10); trial++) {
      const c = randomCase(rng, V, V, 5, kind);
      const buffers = [c.logits, c.temperature, c.topP, c.uniform].map((x) => {
        const b = new a.cuda.Buffer(context, x.byteLength);
        b.write(x);
        return b;
      });
      const out = new a.cuda.Buffer(context, 4 * c.B);
      out.fill(0xff);
      const kernel = new a.cuda.Kernel(module, instances[i].name);
      const args = new KernelArgPacker();
      for (const b of [...buffers, out]) args.ptr((b as GpuBuffer).address);
      args.i64(BigInt(c.B));
      const grid = instances[i].launch.grid.map((g) => evalExpr(g, { B: c.B })) as [number, number, number];
      kernel.launch({ grid, block: [...instances[i].launch.block], sharedMemBytes: instances[i].launch.sharedBytes, args: args.bytes() });
      context.synchronize();
      const ids = new Int32Array(c.B);
      out.read(ids);
      kernel.dispose();
      for (const b of [...buffers, out]) b.dispose();
      problems.push(...check(c, V, V, ids, tally, `${label} seed ${seed} trial ${trial}`));
    }
    expect(problems, `${instances[i].name}, seed ${seed}`).toEqual([]);
  });

  it('knife edges are rare', () => {
    console.log(`sample cuda: ${tally.rows} rows, ${tally.knifeEdges.length} knife-edge rows${tally.knifeEdges.length ? `:\n  ${tally.knifeEdges.join('\n  ')}` : ''}`);
    expect(tally.knifeEdges.length).toBeLessThanOrEqual(Math.ceil(tally.rows / 200));
  });
});
