/**
 * Shared by the codegen tests: the tiny configs' kernel plans, element storage per dtype (bf16 as
 * uint16 bits, fp8 as e4m3fn bytes), strided views over random memory, and comparisons with the
 * float64 reference at a tolerance stated per output dtype.
 */
import { existsSync, readdirSync } from 'node:fs';
import { compileModel } from '../../compiler/compile-model.ts';
import type { CompiledPhase } from '../../compiler/compile-model.ts';
import { decodeBF16, encodeBF16 } from '../../compiler/checkpoint/bf16.ts';
import { decodeE4M3FN, encodeE4M3FN } from '../../compiler/checkpoint/fp8.ts';
import type { Mesh } from '../../compiler/config/mesh.ts';
import { formatMesh, SINGLE_RANK } from '../../compiler/config/mesh.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import type { Dialect } from '../../compiler/codegen/dialect.ts';
import type { KernelInstance } from '../../compiler/codegen/instances.ts';
import { operandsOf, planKernels } from '../../compiler/codegen/instances.ts';
import type { Operand } from '../../compiler/codegen/kernel-family.ts';
import type { Node } from '../../compiler/ir/graph.ts';
import type { Bindings, DType } from '../../compiler/ir/types.ts';
import { resolveShape } from '../../compiler/ir/types.ts';
import type { Schedule } from '../../compiler/passes/schedule.ts';
import { Rng } from '../reference/prng.ts';

/** The tiny configs in ./configs (none where there is no such folder: the bundled CLI run elsewhere, benchmarks/gpu-check). */
export const TINY_CONFIGS = existsSync('configs') ? readdirSync('configs').filter((f) => /^tiny-.*\.json$/.test(f)).sort() : [];

/** Every phase of a config, in both activation modes (W8A8 and W8A16; the same for unquantized configs). */
export function compileBoth(config: string, mesh: Mesh = SINGLE_RANK): { label: string; phase: CompiledPhase }[] {
  const c = loadConfig(`configs/${config}`);
  const where = mesh.tp * mesh.ep > 1 ? ` ${formatMesh(mesh)}` : '';
  return (['fp8', 'none'] as const).flatMap((actQuant) =>
    compileModel(c, { actQuant, disabledPasses: [], mesh }).map((phase) => ({ label: `${config.replace(/\.json$/, '')}${where} ${phase.phase} act=${actQuant}`, phase })),
  );
}

/** The tiny configs' phases, and a mesh's rank graphs (tp=2; local_ids, the vocabulary split, dropped slots). */
export function tinyPhases(): { label: string; phase: CompiledPhase }[] {
  return [...TINY_CONFIGS.flatMap((c) => compileBoth(c)), ...compileBoth('tiny-tp2.json', { tp: 2, ep: 1 }), ...compileBoth('tiny-tp2.json', { tp: 1, ep: 2 })];
}

/** A node that needs an instance, with the schedule it came from (the first such node). */
export interface Sample {
  readonly instance: KernelInstance;
  readonly node: Node;
  readonly schedule: Schedule;
  readonly label: string;
}

/** Distinct instances over the given phases, each with the first node that uses it. */
export function samplesOf(phases: readonly { label: string; phase: CompiledPhase }[], dialect: Dialect): Sample[] {
  const byName = new Map<string, Sample>();
  for (const { label, phase } of phases) {
    const plan = planKernels(phase.schedule, dialect);
    const instances = new Map(plan.instances.map((i) => [i.name, i]));
    for (const l of plan.launches) {
      if (!byName.has(l.instance)) byName.set(l.instance, { instance: instances.get(l.instance)!, node: l.node, schedule: phase.schedule, label: `${label} ${l.node.scope}` });
    }
  }
  return [...byName.values()].sort((a, b) => (a.instance.name < b.instance.name ? -1 : 1));
}

export { operandsOf };

/** Storage of `n` elements of a dtype. */
export function storage(dtype: DType, n: number): Float32Array | Uint16Array | Uint8Array | Int32Array | BigInt64Array {
  switch (dtype) {
    case 'f32':
      return new Float32Array(n);
    case 'bf16':
    case 'f16':
      return new Uint16Array(n);
    case 'fp8e4m3':
      return new Uint8Array(n);
    case 'i32':
      return new Int32Array(n);
    case 'i64':
      return new BigInt64Array(n);
  }
}

export type Storage = ReturnType<typeof storage>;

export function decodeElement(dtype: DType, s: Storage, i: number): number {
  if (dtype === 'bf16') return decodeBF16((s as Uint16Array)[i]);
  if (dtype === 'fp8e4m3') return decodeE4M3FN((s as Uint8Array)[i]);
  return Number(s[i]);
}

export function encodeElement(dtype: DType, s: Storage, i: number, v: number): void {
  if (dtype === 'bf16') (s as Uint16Array)[i] = encodeBF16(v);
  else if (dtype === 'fp8e4m3') (s as Uint8Array)[i] = encodeE4M3FN(v);
  else if (dtype === 'i64') (s as BigInt64Array)[i] = BigInt(v);
  else (s as Float32Array | Int32Array)[i] = v;
}

/** Element offsets of a view, row-major over its shape. */
export function viewOffsets(o: Operand, b: Bindings): { offsets: number[]; shape: number[]; extent: number } {
  const shape = resolveShape(o.shape, b);
  const strides = o.strides.map((m) => m.syms.reduce((p, s) => p * resolveShape([s], b)[0], m.coef));
  const offsets: number[] = [];
  const walk = (axis: number, base: number) => {
    if (axis === shape.length) return void offsets.push(base);
    for (let i = 0; i < shape[axis]; i++) walk(axis + 1, base + i * strides[axis]);
  };
  walk(0, 0);
  const extent = shape.some((d) => d === 0) ? 0 : 1 + shape.reduce((e, d, i) => e + (d - 1) * strides[i], 0);
  return { offsets, shape, extent };
}

/** Random float values of a dtype's usual range; fp8 as any finite code. */
export function randomFill(dtype: DType, s: Storage, rng: Rng, scale = 1): void {
  for (let i = 0; i < s.length; i++) {
    if (dtype === 'fp8e4m3') {
      let code = rng.int(256);
      while ((code & 0x7f) === 0x7f) code = rng.int(256);
      (s as Uint8Array)[i] = code;
    } else if (dtype === 'f32') (s as Float32Array)[i] = (0.5 + rng.next()) * scale;
    else encodeElement(dtype, s, i, rng.normal() * scale);
  }
}

/** Spacing of e4m3fn values around v: 2^(e−3) in v's binade, 2^−9 among subnormals. */
export function e4m3Spacing(v: number): number {
  const a = Math.abs(v);
  return a < 2 ** -6 ? 2 ** -9 : 2 ** (Math.floor(Math.log2(a)) - 3);
}

/**
 * Problems of `got` against `want` (reference, float64) for an output of dtype: f32 and bf16 by
 * relative L2 error (f32 ≤ 1e-5: fp32 arithmetic vs float64; bf16 ≤ 2⁻⁸: one rounding of ≤ 2⁻⁹
 * plus fp32 arithmetic); fp8 element by element within one e4m3 step (x/s computed in fp32 may
 * round the other way near a tie) and ≥ 97% exactly equal; integers exactly.
 */
export function compare(dtype: DType, got: Float64Array, want: Float64Array): string | null {
  if (dtype === 'i32' || dtype === 'i64') {
    const bad = got.findIndex((v, i) => v !== want[i]);
    return bad < 0 ? null : `element ${bad}: ${got[bad]} vs ${want[bad]}`;
  }
  if (dtype === 'fp8e4m3') {
    let exact = 0;
    for (let i = 0; i < got.length; i++) {
      if (got[i] === want[i]) exact++;
      else if (Math.abs(got[i] - want[i]) > e4m3Spacing(Math.max(Math.abs(got[i]), Math.abs(want[i]))) * 1.0000001) return `element ${i}: ${got[i]} vs ${want[i]}`;
    }
    return exact >= 0.97 * got.length ? null : `only ${exact} of ${got.length} e4m3 values equal`;
  }
  let num = 0;
  let den = 0;
  for (let i = 0; i < got.length; i++) {
    if (!Number.isFinite(got[i])) return `element ${i} is ${got[i]}`;
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  const err = den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
  const bound = dtype === 'f32' ? 1e-5 : 2 ** -8;
  return err <= bound ? null : `relative error ${err.toExponential(3)} > ${bound}`;
}
