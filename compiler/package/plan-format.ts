/**
 * plan.json: what the runtime executes, per phase, with no compiler in the loop. Every size is a
 * shape over the step symbols (T tokens of a prefill, B sequences of a decode, S positions of a
 * sequence's slot table, P rows of the paged KV pools), so one plan serves every step; the runtime binds the symbols, places the arena once at its
 * capacity (compiler/passes/plan-memory.ts placeSlots) and launches the kernels in order. After a
 * step, the `sampler` kernel turns rows of its logits into token ids on the device.
 *
 * On a mesh of more than one rank every rank runs the same plan on its own slices of the weights
 * (manifest.json says which), and the phase's steps include collectives between the kernels.
 */
import type { Mesh } from '../config/mesh.ts';
import type { InputRole, Phase } from '../ir/graph.ts';
import type { DType, Shape, Sym } from '../ir/types.ts';

export const PLAN_FORMAT = 'dsv3c-plan/4';

/** Where an operand's memory is: a graph input's buffer (weight, step input, cache) or an arena slot. */
export type BufferRef = { readonly input: string } | { readonly arena: number };

export interface PlanArg {
  readonly buffer: BufferRef;
  /** Elements from the buffer's start to the operand's first element (a view's offset). */
  readonly offset: number;
  readonly dtype: DType;
}

export interface PlanKernel {
  /** The instance, also the file kernels/<instance><ext> and the exported symbol. */
  readonly instance: string;
  /** Where in the model it sits, e.g. layers.3.mlp. */
  readonly scope: string;
  readonly op: string;
  /** One per kernel parameter: inputs then outputs. */
  readonly args: readonly PlanArg[];
  /** Step symbols passed as int64 after the pointers. */
  readonly symbols: readonly Sym[];
  /** C expressions in the symbols (compiler/codegen/expr.ts evaluates them). */
  readonly grid: readonly [string, string, string];
  readonly block: readonly [number, number, number];
  readonly sharedBytes: number;
}

/**
 * A collective between kernels (compiler/ir/ops/collective.ts): reads `args[0]` on every rank of
 * each group and writes `args[1]` on every rank of it. all_reduce: the elementwise sum, same shape; all_gather: the
 * ranks' [rows, C] side by side as [rows, ranks·C].
 */
export interface PlanCollective {
  readonly collective: true;
  readonly op: 'all_reduce' | 'all_gather';
  readonly scope: string;
  /** 'tp': among the tensor-parallel ranks that share an expert-parallel index (rank = e·tp + t); 'world': all ranks. */
  readonly group: 'tp' | 'world';
  /** Ranks in the group. */
  readonly ranks: number;
  /** The operand, then the result. */
  readonly args: readonly [PlanArg, PlanArg];
  /** The operand's shape over the step symbols. */
  readonly shape: Shape;
}

/** One step of a phase: a kernel launch, or on a mesh a collective. */
export type PlanStep = PlanKernel | PlanCollective;

export function isCollective(step: PlanStep): step is PlanCollective {
  return 'collective' in step;
}

/**
 * The `sample` kernel (compiler/ir/ops/sample.ts) over B rows of logits, f32 [B, vocab] with
 * contiguous rows: any rows of a step's logits output. Its parameters are logits, temperature,
 * top_p, uniform (f32 [B]) and ids (i32 [B]), then the symbols; the runtime owns every buffer
 * but the logits.
 */
export interface PlanSampler {
  /** The instance, also the file kernels/<instance><ext> and the exported symbol. */
  readonly instance: string;
  readonly symbols: readonly Sym[];
  readonly grid: readonly [string, string, string];
  readonly block: readonly [number, number, number];
  readonly sharedBytes: number;
  /** Logits per row (V). */
  readonly vocab: number;
}

export interface PlanInput {
  readonly name: string;
  readonly role: InputRole;
  readonly dtype: DType;
  readonly shape: Shape;
}

export interface PlanArenaBuffer {
  /** The IR value id (for --dump-ir cross-reference). */
  readonly id: number;
  readonly dtype: DType;
  readonly shape: Shape;
  /** Index of the kernel that writes it first and that reads it last (kernels.length: a step output). */
  readonly first: number;
  readonly last: number;
}

export interface PlanOutput {
  readonly name: string;
  readonly buffer: BufferRef;
  readonly offset: number;
  readonly dtype: DType;
  readonly shape: Shape;
}

export interface PhasePlan {
  readonly phase: Phase;
  readonly symbols: readonly Sym[];
  /** Decode steps have fixed shapes per batch size: CUDA graphs can capture and replay them. */
  readonly capturable: boolean;
  /** Step inputs and caches (weights are in manifest.json and referenced by name). */
  readonly inputs: readonly PlanInput[];
  readonly weights: readonly string[];
  readonly arena: readonly PlanArenaBuffer[];
  /** Launch order; arena lifetimes index this list. Collectives appear only on a mesh. */
  readonly kernels: readonly PlanStep[];
  readonly outputs: readonly PlanOutput[];
}

export interface PlanTarget {
  readonly target: 'cuda' | 'hip' | 'cpu';
  readonly arch: string;
  /** File extension of each kernel source in kernels/. */
  readonly ext: string;
}

export interface Plan {
  readonly format: typeof PLAN_FORMAT;
  readonly model: string;
  /** compiler/config/config-fingerprint.ts of the config compiled: loading checks the checkpoint's against it. */
  readonly configSha256: string;
  readonly target: PlanTarget;
  readonly actQuant: 'fp8' | 'none';
  readonly disabledPasses: readonly string[];
  /** The ranks the plan is for: each runs it on its slice of the weights (tp = 1: one device). */
  readonly mesh: Mesh;
  readonly phases: readonly PhasePlan[];
  readonly sampler: PlanSampler;
}
