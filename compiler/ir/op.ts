import type { Attrs } from './graph.ts';
import type { Tensor } from './tensor.ts';
import type { Bindings, TensorType } from './types.ts';

/** Work an op does for given symbol bindings: floating-point operations and bytes read + written. */
export interface Cost {
  readonly flops: number;
  readonly bytes: number;
  /** Of `bytes`, those read from model weights (only the experts some token picked, for MoE). */
  readonly weightBytes?: number;
  /** Of `bytes`, those read from or written to the KV cache. */
  readonly kvBytes?: number;
}

/**
 * An op is declared once: how its output types follow from its inputs (throwing a message on a
 * mismatch), what it computes (float64 reference on small shapes), and what it costs.
 */
export interface OpDef {
  readonly name: string;
  /** One line: what the op computes. */
  readonly doc: string;
  /** Output types, each made by tensorType (frozen and interned: the builder keeps them as they are). */
  infer(inputs: readonly TensorType[], attrs: Attrs): TensorType[];
  /** `bindings` holds the step's symbol sizes, for ops whose output shape names a symbol. */
  reference(inputs: readonly Tensor[], attrs: Attrs, bindings: Bindings): Tensor[];
  cost(inputs: readonly TensorType[], outputs: readonly TensorType[], attrs: Attrs, bindings: Bindings): Cost;
  /** Outputs that are an input updated in place on devices, as [output index, input index] (the KV cache writes). */
  readonly inPlace?: readonly (readonly [number, number])[];
  /**
   * Set on collectives (ops whose result depends on every rank's operands): `perRank[r]` are rank
   * r's inputs, the result rank r's outputs. `reference` is then the one-rank case.
   */
  readonly collective?: (perRank: readonly (readonly Tensor[])[], attrs: Attrs) => Tensor[][];
}

const registry = new Map<string, OpDef>();

export function defineOp(def: OpDef): OpDef {
  if (registry.has(def.name)) throw new Error(`op ${def.name} is declared twice`);
  registry.set(def.name, def);
  return def;
}

export function getOp(name: string): OpDef {
  const def = registry.get(name);
  if (!def) throw new Error(`unknown op ${name}`);
  return def;
}

export function allOps(): OpDef[] {
  return [...registry.values()];
}

/** Thrown by `infer` when inputs or attrs do not fit the op. */
export class ShapeError extends Error {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'ShapeError';
  }
}
