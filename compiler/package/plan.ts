/**
 * A compiled phase as plan.json (plan-format.ts): the kernel launches of codegen's KernelPlan with
 * every operand resolved to the buffer that owns its memory and the element offset into it, and
 * the collectives (on a mesh) in their place between them.
 */
import type { KernelPlan } from '../codegen/instances.ts';
import { layoutsOf } from '../codegen/layout.ts';
import type { CompiledPhase } from '../compile-model.ts';
import { valueTypes } from '../ir/graph.ts';
import { SYMBOLS } from '../ir/types.ts';
import type { Sym } from '../ir/types.ts';
import { arenaLifetimes } from '../passes/plan-memory.ts';
import { COLLECTIVE_OPS } from '../ir/ops/collective.ts';
import type { BufferRef, PhasePlan, PlanArg, PlanCollective, PlanStep } from './plan-format.ts';

export function phasePlan(compiled: CompiledPhase, kernels: KernelPlan): PhasePlan {
  const { schedule } = compiled;
  const { graph } = schedule;
  if (kernels.unsupported.length > 0) throw new Error(`${graph.phase}: no kernel family implements ${kernels.unsupported.join(', ')}`);
  const types = valueTypes(graph);
  const layouts = layoutsOf(graph);
  const { lifetimes, owner } = arenaLifetimes(schedule);
  const inputName = new Map(graph.inputs.map((i) => [i.value.id, i.name]));
  const instances = new Map(kernels.instances.map((i) => [i.name, i]));

  // One BufferRef per buffer, shared by every argument in it (V3's plans have ~10k arguments).
  const buffers = new Map<number, BufferRef>();
  const bufferOf = (id: number): BufferRef => {
    const root = owner.get(id)!;
    let buffer = buffers.get(root);
    if (!buffer) {
      const name = inputName.get(root);
      buffers.set(root, (buffer = name === undefined ? { arena: root } : { input: name }));
    }
    return buffer;
  };
  const ref = (id: number): { buffer: BufferRef; offset: number } => ({ buffer: bufferOf(id), offset: layouts.get(id)!.offset });
  const arg = (id: number): PlanArg => ({ buffer: bufferOf(id), offset: layouts.get(id)!.offset, dtype: types.get(id)!.dtype });

  const used = new Set<Sym>();
  const launchOf = new Map(kernels.launches.map((l) => [l.node, l.instance]));
  const planned = schedule.kernels.map((node): PlanStep => {
    if (COLLECTIVE_OPS.has(node.op)) {
      const [input, output] = [node.inputs[0], node.outputs[0].id];
      return { collective: true, op: node.op as PlanCollective['op'], scope: node.scope, group: node.attrs.group as PlanCollective['group'], ranks: node.attrs.ranks as number, args: [arg(input), arg(output)], shape: types.get(input)!.shape };
    }
    const instance = launchOf.get(node)!;
    const inst = instances.get(instance)!;
    for (const s of inst.symbols) used.add(s);
    return {
      instance,
      scope: node.scope,
      op: node.op,
      args: [...node.inputs.map(arg), ...node.outputs.map((o) => arg(o.id))],
      symbols: inst.symbols,
      grid: inst.launch.grid,
      block: inst.launch.block,
      sharedBytes: inst.launch.sharedBytes,
    };
  });
  const weights = graph.inputs.filter((i) => i.role === 'weight').map((i) => i.name);
  return {
    phase: graph.phase,
    symbols: SYMBOLS.filter((s) => used.has(s)),
    capturable: schedule.capturable,
    inputs: graph.inputs.filter((i) => i.role !== 'weight').map((i) => ({ name: i.name, role: i.role, dtype: i.value.type.dtype, shape: i.value.type.shape })),
    weights: [...weights].sort(),
    arena: lifetimes.map((l) => ({ id: l.value, dtype: types.get(l.value)!.dtype, shape: types.get(l.value)!.shape, first: l.first, last: l.last })),
    kernels: planned,
    outputs: graph.outputs.map((o) => ({ name: o.name, ...ref(o.value), dtype: types.get(o.value)!.dtype, shape: types.get(o.value)!.shape })),
  };
}
