/**
 * The package's sampler: the `sample` family's instance for B rows of logits, f32 [B, vocab] with
 * contiguous rows, made without a graph node (sampling follows a step; it is not in the graph).
 * The runtime launches it on rows of a step's logits output, which this checks is such rows in
 * every phase.
 */
import type { Dialect } from '../codegen/dialect.ts';
import type { KernelInstance, PlanOptions } from '../codegen/instances.ts';
import { instanceFor } from '../codegen/instances.ts';
import { familyFor } from '../codegen/kernel-family.ts';
import type { NodeOperands, Operand } from '../codegen/kernel-family.ts';
import { contiguousStrides, layoutsOf, monoExpr } from '../codegen/layout.ts';
import type { CompiledPhase } from '../compile-model.ts';
import type { Node } from '../ir/graph.ts';
import { valueTypes } from '../ir/graph.ts';
import type { DType, Shape } from '../ir/types.ts';
import { tensorType } from '../ir/types.ts';
import type { PlanSampler } from './plan-format.ts';

export function samplerInstance(vocab: number, dialect: Dialect, options: PlanOptions = {}): KernelInstance {
  const family = familyFor('sample');
  if (!family) throw new Error('no kernel family implements sample');
  const dense = (dtype: DType, shape: Shape): Operand => ({ dtype, shape, strides: contiguousStrides(shape) });
  const operands: NodeOperands = {
    inputs: [dense('f32', ['B', vocab]), dense('f32', ['B']), dense('f32', ['B']), dense('f32', ['B'])],
    outputs: [dense('i32', ['B'])],
  };
  const node: Node = { op: 'sample', inputs: [0, 1, 2, 3], attrs: {}, outputs: [{ id: 4, type: tensorType('i32', ['B']) }], scope: 'sampler' };
  return instanceFor(family, node, operands, dialect, options);
}

export function planSampler(inst: KernelInstance, vocab: number): PlanSampler {
  return { instance: inst.name, symbols: inst.symbols, grid: inst.launch.grid, block: inst.launch.block, sharedBytes: inst.launch.sharedBytes, vocab };
}

/** Throws unless every phase's logits output is f32 [rows, vocab] with contiguous rows. */
export function checkLogitsRows(phases: readonly CompiledPhase[], vocab: number): void {
  for (const { phase, schedule } of phases) {
    const { graph } = schedule;
    const out = graph.outputs.find((o) => o.name === 'logits');
    if (!out) throw new Error(`${phase}: no logits output for the sampler`);
    const type = valueTypes(graph).get(out.value)!;
    const strides = layoutsOf(graph).get(out.value)!.strides.map(monoExpr);
    const dense = contiguousStrides(type.shape).map(monoExpr);
    if (type.dtype !== 'f32' || type.shape.length !== 2 || type.shape[1] !== vocab || strides.some((x, i) => x !== dense[i])) {
      throw new Error(`${phase}: logits are ${type.dtype} [${type.shape.join(', ')}] with strides [${strides.join(', ')}]; the sampler reads f32 [rows, ${vocab}] with contiguous rows`);
    }
  }
}
