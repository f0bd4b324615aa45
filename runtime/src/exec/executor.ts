/**
 * Runs plan.json's steps on a Device. Everything is allocated once, at the capacity: the weights
 * (by the loader), one arena shared by both phases (they never run at once) with each phase's
 * slots placed by placeSlots at the largest step, the KV caches [maxBatch, maxContext, ·] and the
 * step inputs. A step binds its symbols, checks its inputs, and launches the phase's kernels in
 * order with pointers resolved from the plan's buffer references.
 *
 * The KV cache is one row per sequence: a prefill writes row `row` (its cache pointer is the
 * row's start, the plan's [1, S, ·] view of it), a decode batch of B sequences uses rows 0…B-1.
 */
import { evalExpr } from '../../../compiler/codegen/expr.ts';
import type { Bindings, DType, Shape } from '../../../compiler/ir/types.ts';
import { DTYPE_BYTES } from '../../../compiler/ir/types.ts';
import type { PhasePlan, Plan, PlanArg } from '../../../compiler/package/plan-format.ts';
import { placeSlots } from '../../../compiler/passes/plan-memory.ts';
import type { Device, DeviceKernel, DeviceMemory } from '../device/device.ts';
import type { Capacity } from './capacity.ts';
import { StepError } from './capacity.ts';

/** Resolves a kernel (instance name) to a loaded kernel: the package's build/ binaries. */
export type KernelLoader = (instance: string) => DeviceKernel;

interface PhaseState {
  readonly plan: PhasePlan;
  /** Arena value id → byte offset in the shared arena. */
  readonly slots: ReadonlyMap<number, number>;
  readonly kernels: readonly DeviceKernel[];
}

export interface StepOutput {
  /** Rows of logits (f32, vocab wide) on the device, row-major. */
  readonly logits: { readonly memory: DeviceMemory; readonly byteOffset: number; readonly rows: number };
}

export class Executor {
  readonly vocab: number;
  private readonly phases = new Map<string, PhaseState>();
  private readonly caches = new Map<string, { memory: DeviceMemory; rowBytes: number }>();
  private readonly inputs = new Map<string, DeviceMemory>();
  private readonly arena: DeviceMemory;
  private readonly owned: DeviceMemory[] = [];

  constructor(
    private readonly device: Device,
    plan: Plan,
    private readonly weights: ReadonlyMap<string, DeviceMemory>,
    readonly capacity: Capacity,
    loadKernel: KernelLoader,
  ) {
    for (const p of plan.phases) for (const w of p.weights) if (!weights.has(w)) throw new Error(`plan: weight ${w} was not loaded`);
    const layout = executorLayout(plan, capacity);
    this.vocab = layout.vocab;
    for (const p of plan.phases) this.phases.set(p.phase, { plan: p, slots: layout.slots.get(p.phase)!, kernels: p.kernels.map((k) => loadKernel(k.instance)) });
    for (const c of layout.caches) {
      const memory = this.own(c.bytes, `KV cache ${c.name}`);
      memory.fill(0); // positions not yet written hold finite values
      this.caches.set(c.name, { memory, rowBytes: c.bytes / capacity.maxBatch });
    }
    for (const i of layout.inputs) this.inputs.set(i.name, this.own(i.bytes, `step input ${i.name}`));
    this.arena = this.own(layout.arenaBytes, 'activation arena');
  }

  /** Bytes of device memory the executor allocated (caches, arena, step inputs); weights apart. */
  get allocatedBytes(): number {
    return this.owned.reduce((a, m) => a + m.size, 0);
  }

  /** T tokens of one sequence at positions start…start+T-1, written to KV row `row`. */
  prefill(row: number, tokens: readonly number[], start: number): StepOutput {
    const T = tokens.length;
    if (T < 1 || T > this.capacity.maxTokens) throw new StepError(`prefill of ${T} tokens: expected 1 to ${this.capacity.maxTokens} (the executor's maxTokens)`);
    this.checkRow(row);
    const positions = tokens.map((_, i) => start + i);
    this.checkTokens(tokens, positions);
    // S: the cache prefix this step reads, so prefill attention and kv_b cost what the sequence has.
    return this.run('prefill', { T, S: start + T }, tokens, positions, row);
  }

  /** One new token for each of the sequences in KV rows 0…B-1, at their own positions. */
  decode(tokens: readonly number[], positions: readonly number[]): StepOutput {
    const B = tokens.length;
    if (B < 1 || B > this.capacity.maxBatch) throw new StepError(`decode batch of ${B}: expected 1 to ${this.capacity.maxBatch} (the executor's maxBatch)`);
    if (positions.length !== B) throw new StepError(`decode: ${B} tokens but ${positions.length} positions`);
    this.checkTokens(tokens, positions);
    // The decode cache view [B, S, ·] has batch stride S·width: S must be the rows' length.
    return this.run('decode', { B, S: this.capacity.maxContext }, tokens, positions, 0);
  }

  dispose(): void {
    for (const m of this.owned.splice(0)) m.dispose();
  }

  private run(phase: string, bindings: Bindings, tokens: readonly number[], positions: readonly number[], row: number): StepOutput {
    const state = this.phases.get(phase)!;
    this.inputs.get('tokens')!.write(Int32Array.from(tokens));
    this.inputs.get('positions')!.write(Int32Array.from(positions));
    const env = bindings as Record<string, number>;
    state.plan.kernels.forEach((k, i) => {
      const grid = k.grid.map((g) => evalExpr(g, env)) as [number, number, number];
      if (grid.some((g) => g < 1)) return; // an empty step for this kernel (e.g. no rows routed)
      state.kernels[i].launch(grid, k.block, k.sharedBytes, k.args.map((a) => this.address(state, a, row)), k.symbols.map((s) => env[s]));
    });
    const out = state.plan.outputs.find((o) => o.name === 'logits')!;
    if (!('arena' in out.buffer)) throw new Error('plan: logits are expected in the arena');
    const byteOffset = state.slots.get(out.buffer.arena)! + out.offset * DTYPE_BYTES[out.dtype];
    return { logits: { memory: this.arena, byteOffset, rows: tokens.length } };
  }

  private address(state: PhaseState, a: PlanArg, row: number): bigint {
    const elementBytes = BigInt(a.offset * DTYPE_BYTES[a.dtype]);
    if ('arena' in a.buffer) return this.arena.address + BigInt(state.slots.get(a.buffer.arena)!) + elementBytes;
    const name = a.buffer.input;
    const cache = this.caches.get(name);
    if (cache) return cache.memory.address + BigInt(row * cache.rowBytes) + elementBytes;
    const memory = this.inputs.get(name) ?? this.weights.get(name);
    if (!memory) throw new Error(`plan: no buffer for ${name}`);
    return memory.address + elementBytes;
  }

  private checkRow(row: number): void {
    if (!Number.isInteger(row) || row < 0 || row >= this.capacity.maxBatch) throw new StepError(`KV row ${row}: expected 0 to ${this.capacity.maxBatch - 1}`);
  }

  /** The kernels clamp or skip bad ids silently (they must not fault); here they are an error. */
  private checkTokens(tokens: readonly number[], positions: readonly number[]): void {
    tokens.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= this.vocab) throw new StepError(`token ${i} is ${t}: expected an id in [0, ${this.vocab})`);
    });
    positions.forEach((p, i) => {
      if (!Number.isInteger(p) || p < 0 || p >= this.capacity.maxContext) {
        throw new StepError(`position ${p} of token ${i} is past the context: expected below ${this.capacity.maxContext} (maxContext)`);
      }
    });
  }

  private own(bytes: number, what: string): DeviceMemory {
    const m = this.device.alloc(bytes, what);
    this.owned.push(m);
    return m;
  }
}

export interface ExecutorLayout {
  readonly vocab: number;
  /** Per phase: arena value id → byte offset. */
  readonly slots: ReadonlyMap<string, ReadonlyMap<number, number>>;
  readonly arenaBytes: number;
  /** [maxBatch, maxContext, width] per cache input. */
  readonly caches: readonly { readonly name: string; readonly bytes: number }[];
  readonly inputs: readonly { readonly name: string; readonly bytes: number }[];
  /** Everything the executor allocates (weights apart). */
  readonly totalBytes: number;
}

/** What the executor will allocate for a capacity, computed without allocating (for memory checks). */
export function executorLayout(plan: Plan, capacity: Capacity): ExecutorLayout {
  const logits = plan.phases[0].outputs.find((o) => o.name === 'logits')!;
  const slots = new Map<string, Map<number, number>>();
  const caches = new Map<string, number>();
  const inputs = new Map<string, number>();
  let arenaBytes = 0;
  for (const p of plan.phases) {
    // The largest step of the phase: offsets placed for it hold for every smaller one.
    const at: Bindings = p.phase === 'prefill' ? { T: capacity.maxTokens, S: capacity.maxContext } : { B: capacity.maxBatch, S: capacity.maxContext };
    const placed = placeSlots(p.arena.map((a) => ({ value: a.id, first: a.first, last: a.last, bytes: bytesOf(a.dtype, a.shape, at) })));
    arenaBytes = Math.max(arenaBytes, placed.peakBytes);
    slots.set(p.phase, new Map(placed.slots.map((s) => [s.value, s.offset])));
    for (const input of p.inputs) {
      const width = input.shape[input.shape.length - 1] as number;
      if (input.role === 'cache') caches.set(input.name, capacity.maxBatch * capacity.maxContext * width * DTYPE_BYTES[input.dtype]);
      else inputs.set(input.name, Math.max(capacity.maxTokens, capacity.maxBatch) * DTYPE_BYTES[input.dtype]);
    }
  }
  const list = (m: Map<string, number>) => [...m].map(([name, bytes]) => ({ name, bytes }));
  const totalBytes = arenaBytes + [...caches.values(), ...inputs.values()].reduce((a, b) => a + b, 0);
  return { vocab: logits.shape[logits.shape.length - 1] as number, slots, arenaBytes, caches: list(caches), inputs: list(inputs), totalBytes };
}

function bytesOf(dtype: DType, shape: Shape, at: Bindings): number {
  return shape.reduce<number>((n, d) => n * (typeof d === 'number' ? d : at[d]!), DTYPE_BYTES[dtype]);
}
