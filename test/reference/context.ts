import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { bf16Rounded } from './bf16.ts';
import { ropeTable, softmaxScale, type RopeTable } from './rope.ts';
import type { Vec } from './vec.ts';
import type { RefWeights } from './weights.ts';

export type ActQuant = 'none' | 'fp8';

/**
 * Where the reference keeps activations between steps. 'float64': never rounded (the independent
 * reference). 'bf16': rounded to bf16 wherever the compiled cpu/GPU plans store a bf16 tensor
 * between kernels, and decode in the absorbed form the decode plan runs (REFERENCE.md's absorb
 * mode); fp8 scales, router weights and logits are rounded to float32, as stored. The arithmetic
 * stays float64. It tells precision from bugs: the cpu kernels, which compute in double, equal
 * it bit for bit, so greedy tokens can be compared for identity (test/e2e/exact-agreement.ts).
 */
export type Activations = 'float64' | 'bf16';

export type Phase = 'prefill' | 'decode';

/** What every step of one reference call needs; built once per call. */
export interface RefContext {
  readonly config: ModelConfig;
  readonly w: RefWeights;
  readonly actQuant: ActQuant;
  readonly activations: Activations;
  readonly phase: Phase;
  readonly rope: RopeTable;
  readonly softmaxScale: number;
}

export function makeContext(config: ModelConfig, w: RefWeights, actQuant: ActQuant, activations: Activations, phase: Phase): RefContext {
  return { config, w, actQuant, activations, phase, rope: ropeTable(config), softmaxScale: softmaxScale(config) };
}

/** `v` as a kernel stores it for the next kernel: a bf16-rounded copy in 'bf16' mode, `v` itself otherwise. */
export function stored(ctx: RefContext, v: Vec): Vec {
  return ctx.activations === 'bf16' ? bf16Rounded(v) : v;
}

/** A value of a float32 tensor (fp8 scales, router weights, logits) as stored: rounded in 'bf16' mode. */
export function storedF32(ctx: RefContext, x: number): number {
  return ctx.activations === 'bf16' ? Math.fround(x) : x;
}
