/**
 * A kernel family is one template plus its declared contract (ThunderKittens-style): the op it
 * implements, the constants a node bakes in, the tunables with default and search space, the
 * constraints over both (checked here before rendering, repeated as static_asserts in the source)
 * and the launch geometry. Families register by op name; compiler/codegen/families/ holds one per file.
 */
import type { Node } from '../ir/graph.ts';
import type { DType, Shape, Sym } from '../ir/types.ts';
import type { TargetKind } from './dialect.ts';
import { evalExpr } from './expr.ts';
import type { Mono } from './layout.ts';

/** Baked-in values: numbers become constexprs, booleans constexpr bools, strings stay in the header and name. */
export type ConstValue = number | boolean | string;
export type Constants = Readonly<Record<string, ConstValue>>;
export type Tunables = Readonly<Record<string, number>>;

export interface Tunable {
  readonly default: number;
  readonly space: readonly number[];
}

/** A C expression over constants, tunables and WARP that must be non-zero, and why. */
export interface Constraint {
  readonly expr: string;
  readonly why: string;
  /** Only for this target class (its tunables differ); both when absent. */
  readonly target?: TargetClass;
}

export function constraintsFor(f: KernelFamily, target: TargetClass): Constraint[] {
  return f.constraints.filter((k) => k.target === undefined || k.target === target);
}

/** grid: C expressions in the step symbols (T, B, S, P) and constants; block: threads; dynamic shared bytes. */
export interface Launch {
  readonly grid: readonly [string, string, string];
  readonly block: readonly [number, number, number];
  readonly sharedBytes: number;
}

/** A kernel operand as the node sees it: type plus where its elements are (see layout.ts). */
export interface Operand {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly strides: readonly Mono[];
}

export interface NodeOperands {
  readonly inputs: readonly Operand[];
  readonly outputs: readonly Operand[];
}

export type TargetClass = 'gpu' | 'cpu';

export interface KernelFamily {
  readonly name: string;
  readonly op: string;
  /** Base name of the template: templates/<target>/<template><ext>.hbs. */
  readonly template: string;
  /** What the kernel computes and how the work is split, one paragraph. */
  readonly doc: string;
  /** Everything that specializes the source, from the node; throws when the node is outside the family. */
  constants(node: Node, operands: NodeOperands): Constants;
  readonly tunables: Readonly<Record<TargetClass, Readonly<Record<string, Tunable>>>>;
  readonly constraints: readonly Constraint[];
  /** `warp`: the dialect's warp size (1 on the cpu), for families that size blocks in warps. */
  launch(c: Constants, t: Tunables, target: TargetClass, warp: number): Launch;
  /** Parameter names of the node's inputs, then outputs, in the node's order. */
  params(c: Constants): { readonly inputs: readonly string[]; readonly outputs: readonly string[] };
  /** Template data computed from constants and tunables only (tables, lists), so the name still determines the source. */
  derive?(c: Constants, t: Tunables): Record<string, unknown>;
}

const registry = new Map<string, KernelFamily>();

export function defineFamily(f: KernelFamily): KernelFamily {
  if (registry.has(f.op)) throw new Error(`a kernel family for ${f.op} is declared twice`);
  registry.set(f.op, f);
  return f;
}

export function familyFor(op: string): KernelFamily | undefined {
  return registry.get(op);
}

export function allFamilies(): KernelFamily[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function targetClass(t: TargetKind): TargetClass {
  return t === 'cpu' ? 'cpu' : 'gpu';
}

export function defaultTunables(f: KernelFamily, target: TargetClass): Record<string, number> {
  return Object.fromEntries(Object.entries(f.tunables[target]).map(([k, v]) => [k, v.default]));
}

/** The environment constraints and grids are evaluated in: numeric and boolean constants, tunables, WARP. */
export function exprEnv(c: Constants, t: Tunables, warp: number): Record<string, number | boolean> {
  const env: Record<string, number | boolean> = { WARP: warp };
  for (const [k, v] of Object.entries(c)) if (typeof v !== 'string') env[k] = v;
  return Object.assign(env, t);
}

/** Each constraint that fails, as "why (expr)"; tunables outside their space fail too. */
export function problems(f: KernelFamily, c: Constants, t: Tunables, target: TargetClass, warp: number): string[] {
  const out: string[] = [];
  for (const [k, spec] of Object.entries(f.tunables[target])) {
    if (!spec.space.includes(t[k])) out.push(`tunable ${k}=${t[k]} is outside its space [${spec.space.join(', ')}]`);
  }
  const env = exprEnv(c, t, warp);
  for (const k of constraintsFor(f, target)) if (evalExpr(k.expr, env) === 0) out.push(`${k.why} (${k.expr})`);
  return out;
}

/** One letter per dtype for the instance name, so that operand types are part of it. */
const DTYPE_CODE: Record<DType, string> = { f32: 'f', bf16: 'b', f16: 'h', fp8e4m3: '8', i32: 'i', i64: 'l' };

export function dtypeSignature(o: NodeOperands): string {
  return `${o.inputs.map((x) => DTYPE_CODE[x.dtype]).join('')}_${o.outputs.map((x) => DTYPE_CODE[x.dtype]).join('')}`;
}

function sanitize(v: ConstValue): string {
  const s = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
  return s.replace(/\./g, 'p').replace(/-/g, 'm').replace(/\*/g, 'x').replace(/\+/g, '').replace(/[^A-Za-z0-9]/g, '_');
}

/**
 * family__<constant><value>_…__<tunable><value>_…, keys sorted: every parameter that specializes
 * the source is in the name, so equal names are equal kernels and the name can key a cache.
 */
export function instanceName(family: string, c: Constants, t: Tunables): string {
  return `${instanceBase(family, c)}__${namePart(t)}`;
}

/**
 * An instance's name without its tunables: what the kernel computes, whichever way it is tuned
 * (an autotuner's choices are keyed by it, tuning.ts).
 */
export function instanceBase(family: string, c: Constants): string {
  return `${family}__${namePart(c)}`;
}

/** The base of an instance name (instanceBase), or undefined for a name that is not one. */
export function baseOfInstanceName(name: string): string | undefined {
  const at = name.lastIndexOf('__');
  return at > 0 && name.indexOf('__') < at ? name.slice(0, at) : undefined;
}

function namePart(r: Readonly<Record<string, ConstValue>>): string {
  return Object.keys(r)
    .sort()
    .map((k) => `${k}${sanitize(r[k])}`)
    .join('_');
}

/** Symbols a node's kernel takes as int64 arguments: those its operand shapes name, in T, B, S, P order. */
export function symbolsOf(o: NodeOperands): Sym[] {
  const used = new Set<string>();
  for (const x of [...o.inputs, ...o.outputs]) for (const d of x.shape) if (typeof d === 'string') used.add(d);
  return (['T', 'B', 'S', 'P'] as const).filter((s) => used.has(s));
}
