/**
 * From a schedule to kernel instances: each kernel node gets its family's constants (from the node
 * and its operands' layouts), tunables (defaults unless overridden) and launch; nodes whose
 * instances have the same name share one instance. DeepSeek-V3's 970 kernels a step come down to
 * a few dozen instances, because the 61 layers repeat the same shapes.
 */
import type { Node } from '../ir/graph.ts';
import { formatAttrs, valueTypes } from '../ir/graph.ts';
import { getOp } from '../ir/op.ts';
import { COLLECTIVE_OPS } from '../ir/ops/collective.ts';
import type { DType, Sym } from '../ir/types.ts';
import type { Schedule } from '../passes/schedule.ts';
import type { Dialect } from './dialect.ts';
import type { Constants, KernelFamily, Launch, NodeOperands, TargetClass, Tunables } from './kernel-family.ts';
import { defaultTunables, dtypeSignature, familyFor, instanceBase, instanceName, problems, symbolsOf, targetClass } from './kernel-family.ts';
import { layoutsOf, monoExpr } from './layout.ts';
import './families/index.ts';

export interface Param {
  readonly name: string;
  readonly dtype: DType;
  readonly output: boolean;
  /** Shares memory with another parameter (an in-place cache write): no __restrict__. */
  readonly aliased: boolean;
}

export interface KernelInstance {
  readonly name: string;
  readonly family: KernelFamily;
  readonly constants: Constants;
  readonly tunables: Tunables;
  /** 'autotune' when PlanOptions.chosen set the tunables, else 'default' (the family's, or a family override). */
  readonly chosenBy: 'default' | 'autotune';
  readonly symbols: readonly Sym[];
  /** Inputs then outputs in the node's order; then the symbols as int64. */
  readonly params: readonly Param[];
  readonly launch: Launch;
}

export interface KernelLaunch {
  readonly node: Node;
  readonly instance: string;
}

export interface KernelPlan {
  readonly target: TargetClass;
  /** Distinct instances, sorted by name. */
  readonly instances: readonly KernelInstance[];
  /** One per scheduled kernel with a family, in launch order (collectives have none). */
  readonly launches: readonly KernelLaunch[];
  /** Ops scheduled that no family implements yet (each once). */
  readonly unsupported: readonly string[];
}

export interface PlanOptions {
  /** Tunable overrides per family name. */
  readonly tunables?: Readonly<Record<string, Partial<Tunables>>>;
  /** An autotuner's picks, per instance base (kernel-family.ts instanceBase): they win over both. */
  readonly chosen?: ReadonlyMap<string, Tunables>;
}

export function operandsOf(node: Node, schedule: Schedule, layouts = layoutsOf(schedule.graph), types = valueTypes(schedule.graph)): NodeOperands {
  const operand = (id: number) => ({ ...types.get(id)!, strides: layouts.get(id)!.strides });
  return { inputs: node.inputs.map(operand), outputs: node.outputs.map((o) => operand(o.id)) };
}

/** The instance a node needs on a target (throws with the node's scope when the family rejects it). */
export function instanceFor(family: KernelFamily, node: Node, operands: NodeOperands, dialect: Dialect, options: PlanOptions = {}): KernelInstance {
  const target = targetClass(dialect.target);
  const symbols = symbolsOf(operands);
  let own: Constants;
  try {
    own = family.constants(node, operands);
  } catch (e) {
    throw new Error(`${family.name} for ${node.op} in ${node.scope}: ${(e as Error).message}`, { cause: e });
  }
  const constants: Constants = { ...own, sym: symbols.join('') || 'none', dtypes: dtypeSignature(operands) };
  const picked = options.chosen?.get(instanceBase(family.name, constants));
  const tunables: Tunables = { ...defaultTunables(family, target), ...(options.tunables?.[family.name] ?? {}), ...(picked ?? {}) } as Tunables;
  const failed = problems(family, constants, tunables, target, dialect.warpSize);
  if (failed.length > 0) throw new Error(`${family.name} for ${node.op} in ${node.scope} on ${dialect.target}: ${failed.join('; ')}`);
  const aliasedInputs = new Set((getOp(node.op).inPlace ?? []).map(([, i]) => i));
  const aliasedOutputs = new Set((getOp(node.op).inPlace ?? []).map(([o]) => o));
  const names = family.params(constants);
  if (names.inputs.length !== operands.inputs.length || names.outputs.length !== operands.outputs.length) {
    throw new Error(`${family.name}: params name ${names.inputs.length}+${names.outputs.length} operands, ${node.op} has ${operands.inputs.length}+${operands.outputs.length}`);
  }
  const params: Param[] = [
    ...operands.inputs.map((o, i) => ({ name: names.inputs[i], dtype: o.dtype, output: false, aliased: aliasedInputs.has(i) })),
    ...operands.outputs.map((o, i) => ({ name: names.outputs[i], dtype: o.dtype, output: true, aliased: aliasedOutputs.has(i) })),
  ];
  return {
    name: instanceName(family.name, constants, tunables),
    family,
    constants,
    tunables,
    chosenBy: picked ? 'autotune' : 'default',
    symbols,
    params,
    launch: family.launch(constants, tunables, target, dialect.warpSize),
  };
}

/** Every kernel of a schedule as instances for one dialect; identical instances once. */
export function planKernels(schedule: Schedule, dialect: Dialect, options: PlanOptions = {}): KernelPlan {
  const layouts = layoutsOf(schedule.graph);
  const types = valueTypes(schedule.graph);
  const byName = new Map<string, KernelInstance>();
  const launches: KernelLaunch[] = [];
  const unsupported = new Set<string>();
  // The layers repeat: a node with the same op, attrs and operands as an earlier one has its
  // instance. An operand is its value's dtype, shape and strides, spelled once per value.
  const bySignature = new Map<string, KernelInstance>();
  const operandKeys = new Map<number, string>();
  const operandKey = (id: number): string => {
    let key = operandKeys.get(id);
    if (key === undefined) {
      const { dtype, shape } = types.get(id)!;
      operandKeys.set(id, (key = `${dtype}[${shape.join(',')}]{${layouts.get(id)!.strides.map(monoExpr).join(',')}}`));
    }
    return key;
  };
  for (const node of schedule.kernels) {
    if (COLLECTIVE_OPS.has(node.op)) continue; // not kernels: the runtime's communicator runs them
    const family = familyFor(node.op);
    if (!family) {
      unsupported.add(node.op);
      continue;
    }
    const signature = `${node.op}|${formatAttrs(node.attrs)}|${node.inputs.map(operandKey).join(' ')}|${node.outputs.map((o) => operandKey(o.id)).join(' ')}`;
    let inst = bySignature.get(signature);
    if (!inst) bySignature.set(signature, (inst = instanceFor(family, node, operandsOf(node, schedule, layouts, types), dialect, options)));
    const seen = byName.get(inst.name);
    if (seen && seen !== inst && JSON.stringify(seen.constants) !== JSON.stringify(inst.constants)) {
      throw new Error(`instance name ${inst.name} is shared by different constants`);
    }
    if (!seen) byName.set(inst.name, inst);
    launches.push({ node, instance: inst.name });
  }
  const instances = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { target: targetClass(dialect.target), instances, launches, unsupported: [...unsupported].sort() };
}
