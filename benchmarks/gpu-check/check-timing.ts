/**
 * Check (c): DeepSeek-V3's kernel instances timed on the GPU, each at decode B=1,64 (S = 4096) and
 * prefill T=512,4096 (layout.ts TIMING_CASES), against rooflines measured in the same run.
 *
 * - Instances: as compileModel + planKernels find them for each mode (the first node of each
 *   distinct instance, test/codegen/support.ts samplesOf), run from the cubins built here.
 * - Inputs: integer operands the op constrains (ids, positions, pool rows, expert ids) as the
 *   kernel check draws them (test/codegen/inputs.ts integerValues); every other operand random in
 *   its dtype's range (a random chunk per dtype, written once and replicated on the device with
 *   our copy kernel). Instance sets smaller than ROTATE_L2 × L2 are replicated and the copies
 *   rotated, so a launch does not find its operands in L2 (flagged where even that fits in L2).
 * - Timing: the copies' launches as one CUDA graph (a Program), CUDA events around each replay,
 *   warm-up first, median of the runs; per launch = replay / copies.
 * - Rooflines: our copy kernel's bandwidth and our simple SGEMM's rate, and PyTorch's copy and
 *   matmul rates (bf16, fp32, tf32, fp8) when python3 with torch is there (benchmarks/peers).
 *   Each instance: bytes and FLOPs from its op's cost model; achieved bytes/s over the copy
 *   bandwidth, FLOP/s over the matmul rates, and the roofline fraction = max(bytes / copy BW,
 *   FLOPs / bf16 rate) / time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cudaDialect } from '../../compiler/codegen/dialect.ts';
import { evalExpr } from '../../compiler/codegen/expr.ts';
import type { Operand } from '../../compiler/codegen/kernel-family.ts';
import { compileModel } from '../../compiler/compile-model.ts';
import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { operandsOf, planKernels } from '../../compiler/codegen/instances.ts';
import { getOp } from '../../compiler/ir/op.ts';
import type { Bindings, DType } from '../../compiler/ir/types.ts';
import { DTYPE_BYTES, resolveShape } from '../../compiler/ir/types.ts';
import type { GpuBuffer, GpuProgramLaunch } from '../../runtime/src/native/addon-types.ts';
import { KernelArgPacker } from '../../runtime/src/native/pack-args.ts';
import { integerValues } from '../../test/codegen/inputs.ts';
import type { Sample, Storage } from '../../test/codegen/support.ts';
import { randomFill, samplesOf, storage, viewOffsets } from '../../test/codegen/support.ts';
import { Rng } from '../../test/reference/prng.ts';
import type { Gpu } from './cuda.ts';
import type { Mode, TimingCase } from './layout.ts';
import { ARCH, TIMED_CONFIG, TIMING_CASES } from './layout.ts';
import type { CheckResult } from './results.ts';
import { median } from './results.ts';

/** H100's L2 (50 MiB) when PyTorch does not tell. */
const DEFAULT_L2 = 50 * 2 ** 20;
const ROTATE_L2 = 4;
const MAX_COPIES = 128;
const CHUNK_BYTES = 4 * 2 ** 20;

export interface Peers {
  readonly ours: { copyBytesPerSecond: number; sgemmFlopsPerSecond: number; sgemm: { m: number; n: number; k: number } };
  readonly torch: Record<string, unknown> | { skipped: string };
  readonly l2Bytes: number;
  /** The rooflines used: copy bandwidth and matmul rates (the best measured of each kind). */
  readonly copyBytesPerSecond: number;
  readonly matmulFlopsPerSecond: Readonly<Record<string, number>>;
}

export interface TimingOptions {
  readonly modes: readonly Mode[];
  readonly runs: number;
  /** Stop timing (and say so) past this many seconds. */
  readonly budgetSeconds: number;
  readonly log: (line: string) => void;
}

/** Elements a view spans: 1 + Σ (size − 1) × stride (viewOffsets' extent without listing offsets). */
function extentOf(o: Operand, b: Bindings): number {
  const shape = resolveShape(o.shape, b);
  if (shape.some((d) => d === 0)) return 0;
  const strides = o.strides.map((m) => m.syms.reduce((p, s) => p * resolveShape([s], b)[0], m.coef));
  return 1 + shape.reduce((e, d, i) => e + (d - 1) * strides[i], 0);
}

class Filler {
  private readonly chunks = new Map<DType, Storage>();
  constructor(
    private readonly gpu: Gpu,
    private readonly rng: Rng,
  ) {}

  private chunk(dtype: DType): Storage {
    let c = this.chunks.get(dtype);
    if (!c) {
      c = storage(dtype, CHUNK_BYTES / DTYPE_BYTES[dtype]);
      randomFill(dtype, c, this.rng);
      this.chunks.set(dtype, c);
    }
    return c;
  }

  /** The buffer's first `bytes` from the dtype's random chunk, replicated on the device. */
  random(buf: GpuBuffer, bytes: number, dtype: DType): void {
    const c = this.chunk(dtype);
    const first = Math.min(bytes, c.byteLength);
    buf.write(new Uint8Array(c.buffer, c.byteOffset, first), 0);
    this.replicate(buf, first, bytes);
  }

  /** Copies [0, from) over [from, bytes) with our copy kernel (from a multiple of 16), the last < 16 bytes from the host. */
  replicate(buf: GpuBuffer, from: number, bytes: number): void {
    const copy = this.gpu.peer('peer_copy');
    let at = from;
    while (at + 16 <= bytes) {
      const n = Math.min(from, bytes - at) & ~15;
      copy.launch({ grid: 1024, block: 256, args: new KernelArgPacker().ptr(buf.address + BigInt(at)).ptr(buf.address).i64(BigInt(n / 16)).bytes() });
      at += n;
    }
    if (at < bytes) buf.write(new Uint8Array(bytes - at), at);
    this.gpu.context.synchronize();
  }
}

function timeProgram(gpu: Gpu, launches: GpuProgramLaunch[], runs: number): { ms: number[] } {
  const { addon, context } = gpu;
  const program = new addon.cuda.Program(context, { launches, params: 0 });
  const start = new addon.cuda.Event(context);
  const end = new addon.cuda.Event(context);
  try {
    const once = () => {
      start.record();
      program.run({ graph: true });
      end.record();
      end.synchronize();
      return start.elapsedMs(end);
    };
    const first = [once(), once(), once()]; // capture, then warm replays
    const n = first[2] > 50 ? Math.min(runs, 5) : runs;
    return { ms: Array.from({ length: n }, once) };
  } finally {
    for (const r of [start, end, program]) r.dispose();
  }
}

export function measurePeers(gpu: Gpu, bundleDir: string, log: (l: string) => void): Peers {
  const torch = torchPeers(join(bundleDir, 'peers', 'torch_peers.py'));
  const l2Bytes = typeof (torch as { l2Bytes?: unknown }).l2Bytes === 'number' ? (torch as { l2Bytes: number }).l2Bytes : DEFAULT_L2;
  const filler = new Filler(gpu, new Rng(7));

  const n = 2 ** 30;
  const src = gpu.buffer(n);
  const dst = gpu.buffer(n);
  filler.random(src, n, 'f32');
  const sms = gpu.context.info().smCount;
  const copy = timeProgram(gpu, [{ kernel: gpu.peer('peer_copy'), grid: sms * 8, block: 256, args: new KernelArgPacker().ptr(dst.address).ptr(src.address).i64(BigInt(n / 16)).bytes() }], 10);
  const copyBytesPerSecond = (2 * n) / (median(copy.ms) / 1e3);
  src.dispose();
  dst.dispose();

  const m = 4096;
  const a = gpu.buffer(m * m * 4);
  const b = gpu.buffer(m * m * 4);
  const c = gpu.buffer(m * m * 4);
  filler.random(a, m * m * 4, 'f32');
  filler.random(b, m * m * 4, 'f32');
  const sgemm = timeProgram(gpu, [{ kernel: gpu.peer('peer_sgemm'), grid: [m / 64, m / 64, 1], block: 256, args: new KernelArgPacker().ptr(c.address).ptr(a.address).ptr(b.address).i64(BigInt(m)).i64(BigInt(m)).i64(BigInt(m)).bytes() }], 5);
  const sgemmFlopsPerSecond = (2 * m ** 3) / (median(sgemm.ms) / 1e3);
  for (const x of [a, b, c]) x.dispose();

  const rate = (k: string) => ((torch as { matmul?: Record<string, { flopsPerSecond?: number }> }).matmul?.[k]?.flopsPerSecond ?? 0);
  const torchCopy = (torch as { copy?: { bytesPerSecond?: number } }).copy?.bytesPerSecond ?? 0;
  const matmulFlopsPerSecond: Record<string, number> = { fp32: Math.max(sgemmFlopsPerSecond, rate('fp32')) };
  for (const k of ['tf32', 'bf16', 'fp8']) if (rate(k) > 0) matmulFlopsPerSecond[k] = rate(k);
  const peers: Peers = { ours: { copyBytesPerSecond, sgemmFlopsPerSecond, sgemm: { m, n: m, k: m } }, torch, l2Bytes, copyBytesPerSecond: Math.max(copyBytesPerSecond, torchCopy), matmulFlopsPerSecond };
  log(`  peers: copy ${(copyBytesPerSecond / 1e9).toFixed(0)} GB/s (ours)${torchCopy ? `, ${(torchCopy / 1e9).toFixed(0)} GB/s (torch)` : ''}; sgemm ${(sgemmFlopsPerSecond / 1e12).toFixed(1)} TFLOP/s (ours); torch matmul ${'skipped' in torch ? `skipped: ${String(torch.skipped)}` : Object.entries(matmulFlopsPerSecond).map(([k, v]) => `${k} ${(v / 1e12).toFixed(0)}`).join(', ') + ' TFLOP/s'}`);
  return peers;
}

function torchPeers(script: string): Record<string, unknown> | { skipped: string } {
  if (!existsSync(script)) return { skipped: `${script} is not in the bundle` };
  const r = spawnSync('python3', [script], { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 20 });
  if (r.error) return { skipped: `python3: ${r.error.message}` };
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(line) as Record<string, unknown>;
    return 'error' in j ? { skipped: String(j.error) } : j;
  } catch {
    return { skipped: `torch_peers.py printed no JSON (exit ${r.status}): ${(r.stderr || r.stdout).slice(-300)}` };
  }
}

/** The full model's distinct instances of a mode (first node of each) and how often a step launches each (`phase:instance`). */
export function timingPlan(config: ModelConfig, mode: Mode): { samples: Sample[]; perStep: Map<string, number> } {
  const dialect = cudaDialect(ARCH);
  const phases = compileModel(config, { actQuant: mode, disabledPasses: [] });
  const samples = samplesOf(phases.map((phase) => ({ label: `${TIMED_CONFIG} ${phase.phase} act=${mode}`, phase })), dialect);
  const perStep = new Map<string, number>();
  for (const p of phases) for (const l of planKernels(p.schedule, dialect).launches) perStep.set(`${p.phase}:${l.instance}`, (perStep.get(`${p.phase}:${l.instance}`) ?? 0) + 1);
  return { samples, perStep };
}

/** What timing one instance at one case takes, before any device memory: grid, bytes, copies, cost. */
export function planInstance(sample: Sample, c: TimingCase, l2Bytes: number) {
  const { node, schedule, instance } = sample;
  const b = c.bindings as Bindings;
  const env = c.bindings as Record<string, number>;
  const operands = operandsOf(node, schedule);
  const grid = instance.launch.grid.map((g) => evalExpr(g, env)) as [number, number, number];
  const inPlace = new Map(getOp(node.op).inPlace ?? []);
  const inBytes = operands.inputs.map((o) => extentOf(o, b) * DTYPE_BYTES[o.dtype]);
  const outBytes = operands.outputs.map((o, i) => (inPlace.has(i) ? 0 : extentOf(o, b) * DTYPE_BYTES[o.dtype]));
  const setBytes = [...inBytes, ...outBytes].reduce((x, y) => x + y, 0);
  const copies = Math.max(1, Math.min(MAX_COPIES, Math.ceil((ROTATE_L2 * l2Bytes) / Math.max(setBytes, 1))));
  const cost = getOp(node.op).cost(operands.inputs, operands.outputs, node.attrs, b);
  return { operands, grid, inPlace, inBytes, outBytes, setBytes, copies, cost, env, bindings: b };
}

/** One instance at one case: buffers (rotated copies), a graph of the copies' launches, events. */
function timeInstance(gpu: Gpu, sample: Sample, c: TimingCase, peers: Peers, filler: Filler, rng: Rng, runs: number): Record<string, unknown> {
  const { node, instance } = sample;
  const { operands, grid, inPlace, inBytes, outBytes, setBytes, copies, cost, env, bindings: b } = planInstance(sample, c, peers.l2Bytes);
  const base = { instance: instance.name, family: instance.family.name, op: node.op, scope: node.scope, grid, block: instance.launch.block, sharedBytes: instance.launch.sharedBytes };
  if (grid.some((g) => g < 1)) return { ...base, skipped: 'empty grid for this step' };
  const owned: GpuBuffer[] = [];
  try {
    // Copy 0's inputs hold the data; the other copies get it by a device copy.
    const ints = operands.inputs.map((o, i) => integerValues(node, i, operands, b, rng));
    const sets: GpuBuffer[][] = [];
    for (let k = 0; k < copies; k++) {
      const ins = operands.inputs.map((o, i) => {
        const buf = gpu.buffer(inBytes[i]);
        owned.push(buf);
        const values = ints[i];
        if (values) {
          const { offsets, extent } = viewOffsets(o, b);
          const s = storage(o.dtype, extent);
          offsets.forEach((off, j) => (s instanceof BigInt64Array ? (s[off] = BigInt(values[j])) : (s[off] = values[j])));
          buf.write(s);
        } else if (inBytes[i] > 0) filler.random(buf, inBytes[i], o.dtype);
        return buf;
      });
      const outs = operands.outputs.map((_, i) => {
        if (inPlace.has(i)) return ins[inPlace.get(i)!];
        const buf = gpu.buffer(outBytes[i]);
        owned.push(buf);
        return buf;
      });
      sets.push([...ins, ...outs]);
    }
    const kernel = gpu.kernel(instance.name);
    const launches: GpuProgramLaunch[] = sets.map((bufs) => {
      const args = new KernelArgPacker();
      for (const x of bufs) args.ptr(x.address);
      for (const s of instance.symbols) args.i64(BigInt(env[s]));
      return { kernel, grid, block: [...instance.launch.block] as [number, number, number], sharedMemBytes: instance.launch.sharedBytes, args: args.bytes() };
    });
    const { ms } = timeProgram(gpu, launches, runs);
    const perLaunch = ms.map((x) => x / copies);
    const seconds = median(perLaunch) / 1e3;
    const bytesPerSecond = cost.bytes / seconds;
    const flopsPerSecond = cost.flops / seconds;
    const matmul = Object.fromEntries(Object.entries(peers.matmulFlopsPerSecond).map(([k, v]) => [k, flopsPerSecond / v]));
    const peak = peers.matmulFlopsPerSecond.bf16 ?? peers.matmulFlopsPerSecond.fp32;
    const rooflineSeconds = Math.max(cost.bytes / peers.copyBytesPerSecond, cost.flops / peak);
    return {
      ...base,
      medianUs: seconds * 1e6,
      minUs: Math.min(...perLaunch) * 1e3,
      runs: ms.length,
      copies,
      setBytes,
      l2Resident: setBytes * copies <= peers.l2Bytes,
      bytes: cost.bytes,
      flops: cost.flops,
      bytesPerSecond,
      flopsPerSecond,
      copyFraction: bytesPerSecond / peers.copyBytesPerSecond,
      matmulFraction: matmul,
      rooflineUs: rooflineSeconds * 1e6,
      rooflineFraction: rooflineSeconds / seconds,
      bound: cost.bytes / peers.copyBytesPerSecond >= cost.flops / peak ? 'memory' : 'compute',
    };
  } finally {
    for (const x of owned) x.dispose();
  }
}

export function checkTiming(gpu: Gpu, bundleDir: string, options: TimingOptions): CheckResult {
  const started = performance.now();
  const { log } = options;
  const peers = measurePeers(gpu, bundleDir, log);
  const filler = new Filler(gpu, new Rng(11));
  const rng = new Rng(13);
  const config = loadConfig(`configs/${TIMED_CONFIG}.json`);
  const modes: Record<string, unknown>[] = [];
  let outOfTime = false;
  for (const mode of options.modes) {
    const { samples, perStep } = timingPlan(config, mode);
    const cases: Record<string, unknown>[] = [];
    for (const c of TIMING_CASES) {
      const kernels: Record<string, unknown>[] = [];
      for (const s of samples.filter((x) => x.schedule.graph.phase === c.phase)) {
        if ((performance.now() - started) / 1000 > options.budgetSeconds) {
          outOfTime = true;
          break;
        }
        const launchesPerStep = perStep.get(`${c.phase}:${s.instance.name}`) ?? 0;
        try {
          const r = timeInstance(gpu, s, c, peers, filler, rng, options.runs);
          kernels.push({ ...r, launchesPerStep });
          if ('medianUs' in r) log(`  ${mode} ${c.label} ${s.instance.family.name} ×${launchesPerStep}: ${(r.medianUs as number).toFixed(1)} µs, ${((r.bytesPerSecond as number) / 1e9).toFixed(0)} GB/s, ${((r.flopsPerSecond as number) / 1e12).toFixed(2)} TFLOP/s, roofline ${((r.rooflineFraction as number) * 100).toFixed(1)}%`);
        } catch (e) {
          kernels.push({ instance: s.instance.name, family: s.instance.family.name, launchesPerStep, error: (e as Error).message });
          log(`  ${mode} ${c.label} ${s.instance.family.name}: ERROR ${(e as Error).message}`);
        }
      }
      const timed = kernels.filter((k) => typeof k.medianUs === 'number');
      const sum = (f: (k: Record<string, unknown>) => number) => timed.reduce((a, k) => a + f(k), 0);
      cases.push({
        ...c,
        kernels,
        // One step of the model = every launch of the phase: Σ launches × median (graph-replayed, no launch gaps).
        kernelSumUs: sum((k) => (k.launchesPerStep as number) * (k.medianUs as number)),
        rooflineSumUs: sum((k) => (k.launchesPerStep as number) * (k.rooflineUs as number)),
        complete: timed.length === samples.filter((x) => x.schedule.graph.phase === c.phase).length,
      });
      if (outOfTime) break;
    }
    modes.push({ mode, instances: samples.length, cases });
    if (outOfTime) break;
  }
  return {
    status: 'measured',
    config: TIMED_CONFIG,
    peers,
    modes,
    ...(outOfTime ? { note: `stopped after the ${options.budgetSeconds} s budget (--timing-budget); later cases and modes are missing` } : {}),
  };
}
