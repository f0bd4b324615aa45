/**
 * Runs one kernel instance on a backend against its op's float64 reference: fresh random inputs
 * laid out as the operands' views say, outputs poisoned before the launch, each output compared at
 * its dtype's bound (support.ts compare). The same run serves the cpu target and, where a device
 * exists, CUDA: only the Backend differs (alloc, copy, launch).
 */
import { evalExpr } from '../../compiler/codegen/expr.ts';
import type { KernelInstance } from '../../compiler/codegen/instances.ts';
import { getOp } from '../../compiler/ir/op.ts';
import { tensor } from '../../compiler/ir/tensor.ts';
import type { Bindings } from '../../compiler/ir/types.ts';
import { DTYPE_BYTES, numel, resolveShape } from '../../compiler/ir/types.ts';
import { Rng } from '../reference/prng.ts';
import { randomInputs } from './inputs.ts';
import type { Sample } from './support.ts';
import { compare, decodeElement, operandsOf, storage, viewOffsets } from './support.ts';

export interface DeviceBuffer {
  write(data: ArrayBufferView): void;
  read(into: ArrayBufferView): void;
  fill(byte: number): void;
  dispose(): void;
}

export interface Backend {
  alloc(bytes: number): DeviceBuffer;
  /** Launches the instance with its grid evaluated for the step; buffers in parameter order, then the symbols. */
  launch(inst: KernelInstance, grid: [number, number, number], buffers: readonly DeviceBuffer[], symbols: readonly number[]): void;
}

/** Decode binds B sequences of one token, prefill T tokens; S cache positions (≥ T); P pool rows. */
export const STEP: Readonly<Record<string, Bindings>> = { prefill: { T: 5, S: 7, P: 11 }, decode: { B: 3, S: 6, P: 23 } };

/** One launch of an instance made ready on a backend: its buffers filled, the grid and symbols of the step. */
export interface StagedLaunch {
  /** The inputs' host storage, as written to the device (views laid out as their strides say). */
  readonly inputs: readonly ReturnType<typeof randomInputs>[number][];
  /** One per output of the node (an in-place output is its input's buffer). */
  readonly outputs: readonly DeviceBuffer[];
  launch(): void;
  dispose(): void;
}

/**
 * Fresh random inputs for the sample's node at `bindings`, outputs poisoned (an element the kernel
 * forgets is NaN or garbage, never a lucky zero), `instance` (the sample's, or a variant of it
 * with other tunables) ready to launch: the kernel check and the autotuner's timing share it.
 */
export function stageLaunch(sample: Sample, instance: KernelInstance, backend: Backend, bindings: Bindings, seed: number): StagedLaunch {
  const { node, schedule } = sample;
  const operands = operandsOf(node, schedule);
  const inputs = randomInputs(node, operands, bindings, new Rng(seed));
  const owned: DeviceBuffer[] = [];
  const alloc = (bytes: number) => {
    const b = backend.alloc(Math.max(bytes, 64));
    owned.push(b);
    return b;
  };
  const inBuffers = inputs.map((s) => {
    const b = alloc(s.byteLength);
    b.write(s);
    return b;
  });
  const inPlace = new Map(getOp(node.op).inPlace ?? []);
  const outputs = operands.outputs.map((o, i) => {
    if (inPlace.has(i)) return inBuffers[inPlace.get(i)!];
    const b = alloc(numel(resolveShape(o.shape, bindings)) * DTYPE_BYTES[o.dtype]);
    b.fill(0xff);
    return b;
  });
  const env = bindings as Record<string, number>;
  const grid = instance.launch.grid.map((g) => evalExpr(g, env)) as [number, number, number];
  const symbols = instance.symbols.map((s) => bindings[s]!);
  return {
    inputs,
    outputs,
    launch: () => backend.launch(instance, grid, [...inBuffers, ...outputs], symbols),
    dispose: () => owned.forEach((b) => b.dispose()),
  };
}

export function runSample(sample: Sample, backend: Backend, seed: number): string[] {
  const { node, schedule } = sample;
  const bindings = STEP[schedule.graph.phase];
  const operands = operandsOf(node, schedule);
  const staged = stageLaunch(sample, sample.instance, backend, bindings, seed);
  const refInputs = operands.inputs.map((o, i) => {
    const { offsets, shape } = viewOffsets(o, bindings);
    return tensor(shape, Float64Array.from(offsets, (off) => decodeElement(o.dtype, staged.inputs[i], off)));
  });
  const want = getOp(node.op).reference(refInputs, node.attrs, bindings);
  staged.launch();

  const problems: string[] = [];
  operands.outputs.forEach((o, i) => {
    const n = numel(resolveShape(o.shape, bindings));
    const s = storage(o.dtype, n);
    staged.outputs[i].read(s);
    const got = Float64Array.from({ length: n }, (_, j) => decodeElement(o.dtype, s, j));
    const bad = compare(o.dtype, got, want[i].data);
    if (bad) problems.push(`output ${i} (${o.dtype}): ${bad}`);
  });
  staged.dispose();
  return problems;
}
