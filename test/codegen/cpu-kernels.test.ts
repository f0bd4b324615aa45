/**
 * The cpu target end to end: every distinct cpu instance of the tiny configs (prefill and decode,
 * W8A8 and W8A16) is rendered into one translation unit, built into one shared library with the
 * system c++, loaded through the native addon and run on fresh random inputs; each output is
 * compared with the op's float64 reference (getOp(op).reference) at the bound its dtype allows
 * (support.ts compare). Strided views get memory laid out as the view says, so a kernel that
 * ignores a stride reads the wrong numbers.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CPU_DIALECT } from '../../compiler/codegen/dialect.ts';
import { evalExpr } from '../../compiler/codegen/expr.ts';
import { renderModule } from '../../compiler/codegen/render.ts';
import { getOp } from '../../compiler/ir/op.ts';
import { tensor } from '../../compiler/ir/tensor.ts';
import type { Bindings } from '../../compiler/ir/types.ts';
import { DTYPE_BYTES, numel, resolveShape } from '../../compiler/ir/types.ts';
import type { CpuBuffer, CpuContext, CpuModule, NativeAddon } from '../../runtime/src/native/addon-types.ts';
import { loadAddon } from '../../runtime/src/native/load-addon.ts';
import { NATIVE_INCLUDE, tempDir } from '../native/native-support.ts';
import { Rng } from '../reference/prng.ts';
import { randomInputs } from './inputs.ts';
import type { Sample } from './support.ts';
import { TINY_CONFIGS, compare, compileBoth, decodeElement, operandsOf, samplesOf, storage, viewOffsets } from './support.ts';

const samples = samplesOf(TINY_CONFIGS.flatMap(compileBoth), CPU_DIALECT);
const STEP: Record<string, Bindings> = { prefill: { T: 5, S: 7 }, decode: { B: 3, S: 6 } };

let addon: NativeAddon;
let context: CpuContext;
let module: CpuModule;

beforeAll(() => {
  const dir = tempDir('codegen-cpu');
  const source = path.join(dir, 'kernels.cc');
  writeFileSync(source, renderModule(samples.map((s) => s.instance), CPU_DIALECT, 'tiny-*'));
  const lib = path.join(dir, 'libkernels.so');
  const started = Date.now();
  execFileSync(process.env.CXX ?? 'c++', ['-O2', '-shared', '-fPIC', '-std=c++17', `-I${NATIVE_INCLUDE}`, '-o', lib, source], { stdio: ['ignore', 'inherit', 'inherit'] });
  console.log(`cpu kernels: ${samples.length} instances built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  addon = loadAddon();
  context = new addon.cpu.Context();
  module = new addon.cpu.Module(context, lib);
}, 180_000);

function run(sample: Sample, seed: number): string[] {
  const { node, schedule, instance } = sample;
  const bindings = STEP[schedule.graph.phase];
  const operands = operandsOf(node, schedule);
  const inputs = randomInputs(node, operands, bindings, new Rng(seed));
  const refInputs = operands.inputs.map((o, i) => {
    const { offsets, shape } = viewOffsets(o, bindings);
    return tensor(shape, Float64Array.from(offsets, (off) => decodeElement(o.dtype, inputs[i], off)));
  });
  const want = getOp(node.op).reference(refInputs, node.attrs, bindings);

  const owned: CpuBuffer[] = [];
  const buffer = (bytes: number) => {
    const b = new addon.cpu.Buffer(context, Math.max(bytes, 64));
    owned.push(b);
    return b;
  };
  const inBuffers = inputs.map((s) => {
    const b = buffer(s.byteLength);
    b.write(s);
    return b;
  });
  const inPlace = new Map(getOp(node.op).inPlace ?? []);
  const outBuffers = operands.outputs.map((o, i) => {
    if (inPlace.has(i)) return inBuffers[inPlace.get(i)!];
    const b = buffer(numel(resolveShape(o.shape, bindings)) * DTYPE_BYTES[o.dtype]);
    b.fill(0xff); // poison: an element the kernel forgets is NaN or garbage, never a lucky zero
    return b;
  });
  const blocks = instance.launch.grid.reduce((p, g) => p * evalExpr(g, bindings as Record<string, number>), 1);
  const kernel = new addon.cpu.Kernel(module, instance.name);
  kernel.launch({ blocks, args: [...inBuffers, ...outBuffers, ...instance.symbols.map((s) => bindings[s]!)] });

  const problems: string[] = [];
  operands.outputs.forEach((o, i) => {
    const n = numel(resolveShape(o.shape, bindings));
    const s = storage(o.dtype, n);
    outBuffers[i].read(s);
    const got = Float64Array.from({ length: n }, (_, j) => decodeElement(o.dtype, s, j));
    const bad = compare(o.dtype, got, want[i].data);
    if (bad) problems.push(`output ${i} (${o.dtype}): ${bad}`);
  });
  kernel.dispose();
  for (const b of owned) b.dispose();
  return problems;
}

describe('cpu kernels of the tiny configs match the op references', () => {
  it('covers every family the tiny schedules use, each instance once', () => {
    expect(samples.length).toBeGreaterThan(0);
    expect(new Set(samples.map((s) => s.instance.name)).size).toBe(samples.length);
  });

  it.each(samples.map((s) => [`${s.instance.family.name} (${s.label})`, s] as const))('%s', (_, sample) => {
    const seed = (Math.random() * 2 ** 32) >>> 0;
    const problems = run(sample, seed);
    expect(problems, `${sample.instance.name} with seed ${seed}`).toEqual([]);
  });
});
