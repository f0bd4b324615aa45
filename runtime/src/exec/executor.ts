/**
 * Runs plan.json's steps on a Device. Everything is allocated once, at the capacity: the weights
 * (by the loader), one arena shared by both phases (they never run at once) with each phase's
 * slots placed by placeSlots at the largest step, the paged KV pools [P, ·] and the step inputs.
 * Since every address is then fixed, each phase becomes one device program at construction
 * (Device.createProgram: the addon's Program), its pointers resolved once from the plan's buffer
 * references; a step binds its symbols, checks and writes its inputs, and is one
 * program run: the kernels launch in order in native code.
 *
 * A run's params are [X, S, P] (X = T for a prefill, B for a decode); each kernel's int64 symbol
 * arguments are patched from them. Grids are C expressions in the symbols: evaluated here per
 * step (each distinct expression once, cached by the step's symbols) into an Int32Array of 3 per
 * kernel; a grid below 1 skips its kernel for that step.
 *
 * The KV cache is paged (kv-pages.ts): each layer's pools hold P = pages × pageSize rows shared by
 * all sequences; a sequence (an id below maxBatch) takes pages as it grows and gives them back on
 * release(). A step passes where its new latents go (`slots`, one pool row per token) and where
 * each of its sequences' positions are (`slot_table` [sequences, S]) as step inputs, so every
 * pointer is fixed and one program serves every sequence. On CUDA a decode step (plan
 * `capturable`: shapes fixed by B, S = maxContext and P) is captured as a CUDA graph the first
 * time a batch size is used and replayed afterwards (the addon keeps one graph per B).
 *
 * A mesh plan (more than one rank) has collectives between its kernels: each phase is then one
 * program per run of kernels between them (a segment), and MeshExecutor (mesh-executor.ts) steps
 * every rank's executor segment by segment (beginPrefill / beginDecode, runSegment,
 * collectiveOperands), running each collective across the ranks in between.
 */
import { evalExpr } from '../../../compiler/codegen/expr.ts';
import type { Mesh } from '../../../compiler/config/mesh.ts';
import { meshCoordinates } from '../../../compiler/config/mesh.ts';
import type { Bindings, DType, Shape } from '../../../compiler/ir/types.ts';
import { DTYPE_BYTES } from '../../../compiler/ir/types.ts';
import type { PhasePlan, Plan, PlanArg, PlanCollective, PlanKernel } from '../../../compiler/package/plan-format.ts';
import { isCollective } from '../../../compiler/package/plan-format.ts';
import { placeSlots } from '../../../compiler/passes/plan-memory.ts';
import type { Device, DeviceKernel, DeviceMemory, DeviceProgram, ProgramPointer } from '../device/device.ts';
import type { Capacity } from './capacity.ts';
import { StepError } from './capacity.ts';
import { KvPages, poolOf } from './kv-pages.ts';

/** Resolves a kernel (instance name) to a loaded kernel: the package's build/ binaries. */
export type KernelLoader = (instance: string) => DeviceKernel;

/** A run's params, in this order: the phase's step size (T or B), S, and the pool rows P. */
const PARAMS: Readonly<Record<string, readonly string[]>> = { prefill: ['T', 'S', 'P'], decode: ['B', 'S', 'P'] };
/** Grids cached per phase, by step symbols (decode: one per batch size). */
const GRID_CACHE_LIMIT = 256;

/** The kernels between two collectives (all of them, without collectives): one device program. */
interface Segment {
  /** Indices into PhaseState.kernels. */
  readonly from: number;
  readonly to: number;
  program?: DeviceProgram;
}

interface PhaseState {
  readonly plan: PhasePlan;
  /** Arena value id → byte offset in the shared arena. */
  readonly slots: ReadonlyMap<number, number>;
  /** The plan's kernel launches (its collectives apart), and each one's loaded kernel. */
  readonly kernels: readonly PlanKernel[];
  readonly loaded: readonly DeviceKernel[];
  readonly segments: readonly Segment[];
  /** collectives[i] runs after segments[i]. */
  readonly collectives: readonly PlanCollective[];
  /** The distinct grid expressions of the phase, and for kernel i's dimension d the index of its expression at 3i + d. */
  readonly gridExprs: readonly string[];
  readonly gridOf: Int32Array;
  readonly grids: Map<string, Int32Array>;
  /** Where the step's logits start in the arena. */
  readonly logitsOffset: number;
}

/** A step whose inputs are written and symbols bound, to be run segment by segment. */
export interface PreparedStep {
  readonly phase: 'prefill' | 'decode';
  /** The step's symbols: T or B, S, P. */
  readonly env: Readonly<Record<string, number>>;
  readonly params: Int32Array;
  readonly grids: Int32Array;
  /** Rows of logits the step makes (its tokens). */
  readonly rows: number;
}

/** A collective's operand and result on this rank, at the step's sizes. */
export interface CollectiveOperands {
  readonly collective: PlanCollective;
  readonly input: { readonly memory: DeviceMemory; readonly byteOffset: number };
  readonly output: { readonly memory: DeviceMemory; readonly byteOffset: number };
  /** The operand's [rows, columns] at the step's symbols (the result of an all_gather is ranks × wider). */
  readonly rows: number;
  readonly columns: number;
}

export interface StepOutput {
  /** Rows of logits (f32, vocab wide) on the device, row-major. */
  readonly logits: { readonly memory: DeviceMemory; readonly byteOffset: number; readonly rows: number };
}

export class Executor {
  readonly vocab: number;
  /** The plan's mesh; this executor is one of its ranks (MeshExecutor steps them together). */
  readonly mesh: Mesh;
  private readonly phases = new Map<string, PhaseState>();
  private readonly caches = new Map<string, DeviceMemory>();
  /** Which pool pages each sequence holds. */
  readonly pages: KvPages;
  private readonly inputs = new Map<string, DeviceMemory>();
  private readonly arena: DeviceMemory;
  private readonly owned: DeviceMemory[] = [];

  constructor(
    private readonly device: Device,
    plan: Plan,
    private readonly weights: ReadonlyMap<string, DeviceMemory>,
    readonly capacity: Capacity,
    loadKernel: KernelLoader,
    /** Which rank of the plan's mesh this executor is (e·tp + t); 0 on one device. */
    rank = 0,
  ) {
    for (const p of plan.phases) for (const w of p.weights) if (!weights.has(w)) throw new Error(`plan: weight ${w} was not loaded`);
    const layout = executorLayout(plan, capacity);
    this.mesh = plan.mesh;
    this.vocab = layout.vocab;
    this.pages = new KvPages(layout.pool.pages, layout.pool.pageSize);
    for (const p of plan.phases) {
      if (!PARAMS[p.phase]) throw new Error(`plan: unknown phase ${p.phase}`);
      const kernels = p.kernels.filter((k): k is PlanKernel => !isCollective(k));
      const collectives = p.kernels.filter(isCollective);
      const segments: Segment[] = [];
      let from = 0;
      let count = 0;
      for (const step of p.kernels) {
        if (!isCollective(step)) {
          count++;
        } else {
          segments.push({ from, to: count });
          from = count;
        }
      }
      segments.push({ from, to: count });
      const exprs = new Map<string, number>();
      const gridOf = Int32Array.from(kernels.flatMap((k) => k.grid.map((g) => exprs.get(g) ?? (exprs.set(g, exprs.size), exprs.size - 1))));
      const slots = layout.slots.get(p.phase)!;
      const logits = p.outputs.find((o) => o.name === 'logits');
      if (!logits || !('arena' in logits.buffer)) throw new Error(`plan: the ${p.phase} logits are expected in the arena`);
      const logitsOffset = slots.get(logits.buffer.arena)! + logits.offset * DTYPE_BYTES[logits.dtype];
      const loaded = kernels.map((k) => loadKernel(k.instance));
      this.phases.set(p.phase, { plan: p, slots, kernels, loaded, segments, collectives, gridExprs: [...exprs.keys()], gridOf, grids: new Map(), logitsOffset });
    }
    for (const c of layout.caches) {
      const memory = this.own(c.bytes, `KV cache ${c.name}`);
      memory.fill(0); // rows not yet written hold finite values
      this.caches.set(c.name, memory);
    }
    for (const i of layout.inputs) this.inputs.set(i.name, this.own(i.bytes, `step input ${i.name}`));
    // A mesh plan's local_ids read the rank's coordinates (ep_rank, tp_rank): fixed, so written once.
    const { t, e } = meshCoordinates(plan.mesh, rank);
    this.inputs.get('tp_rank')?.write(Int32Array.of(t));
    this.inputs.get('ep_rank')?.write(Int32Array.of(e));
    this.arena = this.own(layout.arenaBytes, 'activation arena');
    try {
      for (const state of this.phases.values()) for (const segment of state.segments) segment.program = this.buildProgram(state, segment);
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /**
   * T tokens of sequence `seq` at positions start…start+T-1. start 0 begins the sequence anew (its
   * pages, if any, go back first); the sequence takes the pages its positions need.
   */
  prefill(seq: number, tokens: readonly number[], start: number): StepOutput {
    return this.runWhole(this.beginPrefill(seq, tokens, start));
  }

  /** prefill's checks, pages and step inputs, without running it (MeshExecutor runs it). */
  beginPrefill(seq: number, tokens: readonly number[], start: number): PreparedStep {
    const T = tokens.length;
    if (T < 1 || T > this.capacity.maxTokens) throw new StepError(`prefill of ${T} tokens: expected 1 to ${this.capacity.maxTokens} (the executor's maxTokens)`);
    this.checkSequence(seq);
    const positions = tokens.map((_, i) => start + i);
    this.checkTokens(tokens, positions);
    if (start === 0) this.pages.release(seq);
    this.pages.reserve(seq, start + T);
    // S: the cache prefix this step reads, so prefill attention and kv_b cost what the sequence has.
    const S = start + T;
    const table = new Int32Array(S);
    this.pages.fillTable(seq, table, 0, S);
    return this.prepare('prefill', { T, S }, tokens, positions, positions.map((p) => this.pages.slot(seq, p)), table);
  }

  /**
   * One new token for each of B sequences (`seqs`, distinct; 0…B-1 by default) at their own
   * positions; a sequence takes a page when its position starts one.
   */
  decode(tokens: readonly number[], positions: readonly number[], seqs: readonly number[] = tokens.map((_, i) => i)): StepOutput {
    return this.runWhole(this.beginDecode(tokens, positions, seqs));
  }

  /** decode's checks, pages and step inputs, without running it (MeshExecutor runs it). */
  beginDecode(tokens: readonly number[], positions: readonly number[], seqs: readonly number[] = tokens.map((_, i) => i)): PreparedStep {
    const B = tokens.length;
    if (B < 1 || B > this.capacity.maxBatch) throw new StepError(`decode batch of ${B}: expected 1 to ${this.capacity.maxBatch} (the executor's maxBatch)`);
    if (positions.length !== B || seqs.length !== B) throw new StepError(`decode: ${B} tokens but ${positions.length} positions and ${seqs.length} sequences`);
    seqs.forEach((s) => this.checkSequence(s));
    if (new Set(seqs).size !== B) throw new StepError(`decode: sequences ${seqs.join(', ')} are not distinct`);
    this.checkTokens(tokens, positions);
    this.pages.reserveAll(seqs.map((seq, b) => ({ seq, length: positions[b] + 1 })));
    // The slot table [B, S] has batch stride S: S = maxContext keeps a decode step's shapes fixed per B.
    const S = this.capacity.maxContext;
    const table = new Int32Array(B * S);
    seqs.forEach((s, b) => this.pages.fillTable(s, table, b * S, S));
    return this.prepare('decode', { B, S }, tokens, positions, seqs.map((s, b) => this.pages.slot(s, positions[b])), table);
  }

  /** Segments of a phase: collectives + 1 (one on a single rank). */
  segmentCount(phase: 'prefill' | 'decode'): number {
    return this.phase(phase).segments.length;
  }

  /** Runs the kernels of one segment of a prepared step. */
  runSegment(step: PreparedStep, index: number): void {
    const state = this.phase(step.phase);
    const segment = state.segments[index];
    if (!segment.program) throw new Error('executor was disposed');
    // Decode steps have fixed shapes per B (S = maxContext, P fixed): a CUDA graph per batch size.
    segment.program.run(step.params, step.grids.subarray(3 * segment.from, 3 * segment.to), step.phase === 'decode' && state.plan.capturable);
  }

  /** Where the collective after segment `index` reads and writes on this rank, at the step's sizes. */
  collectiveOperands(step: PreparedStep, index: number): CollectiveOperands {
    const state = this.phase(step.phase);
    const collective = state.collectives[index];
    const dims = collective.shape.map((d) => (typeof d === 'number' ? d : step.env[d]));
    const columns = dims[dims.length - 1];
    const rows = dims.reduce((a, d) => a * d, 1) / columns;
    const at = (a: PlanArg) => {
      const { memory, byteOffset } = this.bufferOf(state, a);
      return { memory, byteOffset: byteOffset + a.offset * DTYPE_BYTES[a.dtype] };
    };
    return { collective, input: at(collective.args[0]), output: at(collective.args[1]), rows, columns };
  }

  /** The logits of a step that has run. */
  output(step: PreparedStep): StepOutput {
    return { logits: { memory: this.arena, byteOffset: this.phase(step.phase).logitsOffset, rows: step.rows } };
  }

  /** Sequence `seq` has ended: its pages go back to the pool. */
  release(seq: number): void {
    this.pages.release(seq);
  }

  /**
   * An arena buffer after a step, for diagnosis (the routing a step chose, an attention output):
   * meaningful only for a value alive at the step's end (plan.json's `last` = the kernel count),
   * since the arena reuses every other buffer's bytes.
   */
  readArena(phase: 'prefill' | 'decode', id: number, into: ArrayBufferView): void {
    const offset = this.phases.get(phase)?.slots.get(id);
    if (offset === undefined) throw new Error(`${phase}: no arena buffer ${id}`);
    this.arena.read(into, offset);
  }

  dispose(): void {
    for (const state of this.phases.values()) {
      for (const segment of state.segments) {
        segment.program?.dispose();
        segment.program = undefined;
      }
    }
    for (const m of this.owned.splice(0)) m.dispose();
  }

  /** A segment's kernels as one program: fixed pointers, symbols from params. */
  private buildProgram(state: PhaseState, segment: Segment): DeviceProgram {
    const names = PARAMS[state.plan.phase];
    const launches = state.kernels.slice(segment.from, segment.to).map((k, i) => ({
      kernel: state.loaded[segment.from + i],
      block: k.block,
      sharedBytes: k.sharedBytes,
      pointers: k.args.map((a): ProgramPointer => ({ address: this.address(state, a) })),
      ints: k.symbols.map((s) => {
        const at = names.indexOf(s);
        if (at < 0) throw new Error(`plan: kernel ${k.instance} takes symbol ${s}, which a ${state.plan.phase} step does not bind`);
        return at;
      }),
    }));
    return this.device.createProgram(launches, names.length);
  }

  /** Kernel grids for a step's symbols: 3 per kernel, each distinct expression evaluated once. */
  private gridsFor(state: PhaseState, env: Record<string, number>): Int32Array {
    const key = PARAMS[state.plan.phase].map((n) => env[n]).join(',');
    let grids = state.grids.get(key);
    if (grids) return grids;
    const values = state.gridExprs.map((g) => {
      const v = evalExpr(g, env);
      if (!Number.isInteger(v) || v > 0x7fffffff) throw new Error(`plan: grid ${g} is ${v} for ${JSON.stringify(env)}`);
      return Math.max(v, 0); // below 1: an empty step for this kernel (e.g. no rows routed)
    });
    grids = Int32Array.from(state.gridOf, (e) => values[e]);
    if (state.grids.size >= GRID_CACHE_LIMIT) state.grids.clear();
    state.grids.set(key, grids);
    return grids;
  }

  /** Writes a step's inputs and binds its symbols. */
  private prepare(phase: 'prefill' | 'decode', bindings: Bindings, tokens: readonly number[], positions: readonly number[], slots: readonly number[], table: Int32Array): PreparedStep {
    const state = this.phase(phase);
    this.inputs.get('tokens')!.write(Int32Array.from(tokens));
    this.inputs.get('positions')!.write(Int32Array.from(positions));
    this.inputs.get('slots')!.write(Int32Array.from(slots));
    this.inputs.get('slot_table')!.write(table);
    const env: Record<string, number> = { ...(bindings as Record<string, number>), P: this.pages.rows };
    return { phase, env, params: Int32Array.from(PARAMS[phase], (n) => env[n]), grids: this.gridsFor(state, env), rows: tokens.length };
  }

  /** A one-rank step: its one segment. */
  private runWhole(step: PreparedStep): StepOutput {
    const state = this.phase(step.phase);
    if (state.collectives.length > 0) throw new Error(`plan: the ${step.phase} phase has ${state.collectives.length} collectives; a mesh plan runs on MeshExecutor`);
    this.runSegment(step, 0);
    return this.output(step);
  }

  private phase(phase: 'prefill' | 'decode'): PhaseState {
    const state = this.phases.get(phase);
    if (!state) throw new Error(`plan: no ${phase} phase`);
    return state;
  }

  /** Where an argument points. */
  private address(state: PhaseState, a: PlanArg): bigint {
    const { memory, byteOffset } = this.bufferOf(state, a);
    return memory.address + BigInt(byteOffset + a.offset * DTYPE_BYTES[a.dtype]);
  }

  /** The memory an argument's buffer is in, and where the buffer starts in it. */
  private bufferOf(state: PhaseState, a: PlanArg): { memory: DeviceMemory; byteOffset: number } {
    if ('arena' in a.buffer) return { memory: this.arena, byteOffset: state.slots.get(a.buffer.arena)! };
    const name = a.buffer.input;
    const memory = this.caches.get(name) ?? this.inputs.get(name) ?? this.weights.get(name);
    if (!memory) throw new Error(`plan: no buffer for ${name}`);
    return { memory, byteOffset: 0 };
  }

  private checkSequence(seq: number): void {
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.capacity.maxBatch) throw new StepError(`sequence ${seq}: expected 0 to ${this.capacity.maxBatch - 1} (maxBatch sequences at once)`);
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
  /** The paged KV pool: positions per page, pages, rows (= pages × pageSize). */
  readonly pool: { readonly pageSize: number; readonly pages: number; readonly rows: number };
  /** [rows, width] per cache input (a pool). */
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
  const pool = poolOf(capacity);
  let arenaBytes = 0;
  for (const p of plan.phases) {
    // The largest step of the phase: offsets placed for it hold for every smaller one.
    const S = capacity.maxContext;
    const at: Bindings = p.phase === 'prefill' ? { T: capacity.maxTokens, S, P: pool.rows } : { B: capacity.maxBatch, S, P: pool.rows };
    const placed = placeSlots(p.arena.map((a) => ({ value: a.id, first: a.first, last: a.last, bytes: bytesOf(a.dtype, a.shape, at) })));
    arenaBytes = Math.max(arenaBytes, placed.peakBytes);
    slots.set(p.phase, new Map(placed.slots.map((s) => [s.value, s.offset])));
    for (const input of p.inputs) {
      const width = input.shape[input.shape.length - 1] as number;
      if (input.role === 'cache') caches.set(input.name, pool.rows * width * DTYPE_BYTES[input.dtype]);
      else inputs.set(input.name, Math.max(inputs.get(input.name) ?? 0, bytesOf(input.dtype, input.shape, at)));
    }
  }
  const list = (m: Map<string, number>) => [...m].map(([name, bytes]) => ({ name, bytes }));
  const totalBytes = arenaBytes + [...caches.values(), ...inputs.values()].reduce((a, b) => a + b, 0);
  return { vocab: logits.shape[logits.shape.length - 1] as number, slots, arenaBytes, pool, caches: list(caches), inputs: list(inputs), totalBytes };
}

function bytesOf(dtype: DType, shape: Shape, at: Bindings): number {
  return shape.reduce<number>((n, d) => n * (typeof d === 'number' ? d : at[d]!), DTYPE_BYTES[dtype]);
}
