/**
 * The whole native boundary in one type: everything runtime/native (the C++ addon) exports, with
 * the arguments and results of every function and class. Loaded by load-addon.ts; the C++ side is
 * documented in runtime/native/README.md. Bump NATIVE_ADDON_ABI_VERSION together with
 * kAddonAbiVersion in runtime/native/src/addon.cc whenever this surface changes.
 *
 * Conventions on every class:
 * - Constructors take their parent first (`new cuda.Buffer(context, bytes)`); a child keeps its
 *   parent's driver object alive, so disposing a Context before its Buffers is safe.
 * - `dispose()` frees now and throws if the driver reports an error; calling it twice is a no-op;
 *   objects never disposed are freed by the garbage collector's finalizer, errors ignored.
 * - Any other use after dispose() throws "<Class> was disposed".
 * - Every driver failure is an Error naming the backend, the driver call and the driver's error,
 *   e.g. "cuda: cuMemAlloc_v2(1024 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
 * - Everything is synchronous, including module loading and buffer copies; GPU kernel launches
 *   (and Program runs) are queued on a stream and return at once; cpu ones return when done.
 */

export const NATIVE_ADDON_ABI_VERSION = 2;
export const CPU_KERNEL_ABI_VERSION = 1;

/** Bytes the addon reads from or writes into: any view of an ArrayBuffer, or the buffer itself. */
export type HostBytes = ArrayBuffer | ArrayBufferView;

// ---------------------------------------------------------------------------------------------
// probe()

export interface GpuDeviceProbe {
  name: string;
  /** "major.minor": 9.0 for H100/H200. On HIP, what hipDeviceComputeCapability reports. */
  computeCapability: string;
  totalMemBytes: number;
  /** Streaming multiprocessors (CUDA) or compute units (HIP). */
  smCount: number;
}

export interface GpuProbe {
  available: boolean;
  /** As the driver reports it: CUDA 1000*major + 10*minor (13000 = 13.0); HIP its HIP_VERSION. */
  driverVersion?: number;
  devices?: GpuDeviceProbe[];
  /** Why the backend is unavailable, e.g. "cuda: cannot load libcuda.so.1: ...". */
  error?: string;
}

export interface NcclProbe {
  available: boolean;
  /** NCCL_VERSION_CODE: major*10000 + minor*100 + patch (22105 = 2.21.5). */
  version?: number;
  error?: string;
}

export interface ProbeResult {
  cuda: GpuProbe;
  hip: GpuProbe;
  nccl: NcclProbe;
  /** threads: the cpu backend's pool size ($DSV3C_CPU_THREADS, else the CPUs we may run on). */
  cpu: { threads: number };
}

// ---------------------------------------------------------------------------------------------
// GPU backends: addon.cuda and addon.hip have this same shape.

export interface Disposable {
  readonly disposed: boolean;
  dispose(): void;
}

export interface GpuContext extends Disposable {
  readonly backend: 'cuda' | 'hip';
  readonly device: number;
  info(): GpuDeviceProbe;
  /** Waits for all work queued in this context. */
  synchronize(): void;
}

/** A cubin (CUDA, built by nvcc) or code object (HIP) loaded from a file. */
export interface GpuModule extends Disposable {
  readonly path: string;
}

/** A stream argument: a Stream of the same context, or undefined/null for the null stream. */
export type StreamArg = GpuStream | null | undefined;

/** A launch dimension: x, or [x, y?, z?]; every entry at least 1. */
export type Dim3 = number | [number] | [number, number] | [number, number, number];

export interface GpuLaunch {
  grid: Dim3;
  block: Dim3;
  /** Dynamic shared memory; above 48 KiB call setMaxDynamicSharedMemory first (CUDA). */
  sharedMemBytes?: number;
  stream?: StreamArg;
  /** The kernel's parameters packed in declaration order at natural alignment (KernelArgPacker). */
  args?: HostBytes;
}

export interface GpuKernel extends Disposable {
  readonly name: string;
  /** Opt-in to more than 48 KiB dynamic shared memory (no-op on HIP). */
  setMaxDynamicSharedMemory(bytes: number): void;
  /** Queues the kernel on the stream and returns; errors of the launch itself throw here. */
  launch(options: GpuLaunch): void;
}

export interface GpuBuffer extends Disposable {
  readonly size: number;
  /** The device address, for kernel arguments (address + byte offset for a slice). */
  readonly address: bigint;
  /** Copies `data` to the buffer at byte `offset`; waits for the stream. */
  write(data: HostBytes, offset?: number, stream?: StreamArg): void;
  /** Fills all of `into` from the buffer at byte `offset`; waits for the stream. */
  read(into: HostBytes, offset?: number, stream?: StreamArg): void;
  /** Sets every byte (e.g. poison before a kernel writes); waits for the stream. */
  fill(byte: number, stream?: StreamArg): void;
}

/** Non-blocking: not implicitly ordered with the null stream. */
export interface GpuStream extends Disposable {
  synchronize(): void;
}

export interface GpuEvent extends Disposable {
  record(stream?: StreamArg): void;
  synchronize(): void;
  /** Milliseconds from this event to `end`; both recorded and complete. */
  elapsedMs(end: GpuEvent): number;
}

// ---------------------------------------------------------------------------------------------
// Programs: a fixed list of launches built once and run per step with one call (every backend).
//
// Arguments are complete at construction but for patched slots, which each run rewrites from its
// params: slot = (the template's value there) + Σ scale × params[param] over the slot's patches.
// So a step symbol is an int slot patched with scale 1, and a pointer that moves per step (a KV
// row) is its row-0 address patched with scale = the row's bytes. Pointers are otherwise fixed:
// the memory must outlive the program (and its captured graphs).
//
// Grids: a launch's static `grid`, or per run `grids`, an Int32Array of 3 per launch (x, y, z). A
// grid with an entry below 1 skips its launch for that run (an empty step for that kernel).

/** How a run went: plain launches, or (CUDA, graph: true) a graph captured now or replayed. */
export type ProgramRunResult = 'launched' | 'captured' | 'replayed';

/** A run's params: exactly `params` integers (the program's count). */
export type ProgramParams = Int32Array | BigInt64Array | Float64Array | readonly (number | bigint)[];

export interface GpuArgPatch {
  /** Byte offset of the slot in the launch's `args` blob, aligned to `bytes`. */
  at: number;
  /** Index into the run's params. */
  param: number;
  /** Default 1; a number (exact integer) or bigint. */
  scale?: number | bigint;
  /** The slot's width: 8 (int64, pointer; default) or 4 (int32, written as its low 4 bytes). */
  bytes?: 4 | 8;
}

export interface GpuProgramLaunch {
  kernel: GpuKernel;
  /** Static grid; without it every run passes `grids`. */
  grid?: Dim3;
  block: Dim3;
  /** Above 48 KiB the program opts the kernel in at construction (CUDA). */
  sharedMemBytes?: number;
  /** The parameter blob (KernelArgPacker), patched slots holding their base value. */
  args?: HostBytes;
  patches?: GpuArgPatch[];
}

export interface GpuProgramOptions {
  launches: GpuProgramLaunch[];
  /** How many params each run passes (default 0, at most 1024). */
  params?: number;
}

export interface GpuProgramRun {
  params?: ProgramParams;
  /** 3 per launch; default: each launch's static grid. */
  grids?: Int32Array;
  /** Where the step runs (a captured graph too); default the null stream. */
  stream?: StreamArg;
  /**
   * CUDA: replay the graph captured for these exact params and grids, or capture one now (on a
   * stream of the program's own, then launched on `stream`). Where the driver lacks the graph
   * entry points, and on HIP, the run launches plainly ('launched').
   */
  graph?: boolean;
}

export interface GpuProgram extends Disposable {
  readonly launches: number;
  readonly params: number;
  /** Graphs captured and kept (one per distinct params + grids run with graph: true). */
  readonly graphs: number;
  /** Whether run({ graph: true }) captures: CUDA with every graph entry point; never on HIP. */
  readonly graphsSupported: boolean;
  /** Queues every launch in order (or one graph) and returns; errors name the launch and kernel. */
  run(options?: GpuProgramRun): ProgramRunResult;
  /** Frees every captured graph (dispose() does too). */
  clearGraphs(): void;
}

export interface GpuBackend {
  /** Loads the driver on first use: throws its load error when unavailable. */
  Context: new (device: number) => GpuContext;
  Module: new (context: GpuContext, path: string) => GpuModule;
  Kernel: new (module: GpuModule, name: string) => GpuKernel;
  Buffer: new (context: GpuContext, bytes: number) => GpuBuffer;
  Stream: new (context: GpuContext) => GpuStream;
  Event: new (context: GpuContext) => GpuEvent;
  /** Checks every launch (context, dims, patches) at construction. */
  Program: new (context: GpuContext, options: GpuProgramOptions) => GpuProgram;
}

// ---------------------------------------------------------------------------------------------
// The cpu backend: the same shape where the cpu has the concept; no streams or events.

export interface CpuContext extends Disposable {
  /** The shared thread pool's size (the caller's thread included). */
  readonly threads: number;
  /** A no-op: cpu launches complete before they return. */
  synchronize(): void;
}

/** A shared library of cpu kernels (runtime/native/include/dsv3c_cpu_kernel.h). */
export interface CpuModule extends Disposable {
  readonly path: string;
}

/**
 * One argument per letter of the kernel's kinds: 'p' a CpuBuffer, a raw address (bigint) or
 * null; 'i' an integer (number or bigint, 64-bit signed); 'f' a number (passed as a double).
 */
export type CpuArg = CpuBuffer | bigint | number | null;

export interface CpuLaunch {
  /** The kernel runs once per block index in [0, blocks), spread over the thread pool. */
  blocks: number;
  args: CpuArg[];
}

export interface CpuKernel extends Disposable {
  readonly name: string;
  /** The declared argument kinds, e.g. "ppfi". */
  readonly argKinds: string;
  /** Runs every block; returns when all are done. Wrong count or kind throws before any runs. */
  launch(options: CpuLaunch): void;
}

/** Host memory owned by the addon, 64-byte aligned; contents undefined until written. */
export interface CpuBuffer extends Disposable {
  readonly size: number;
  readonly address: bigint;
  write(data: HostBytes, offset?: number): void;
  read(into: HostBytes, offset?: number): void;
  fill(byte: number): void;
}

export interface CpuArgPatch {
  /** Index of the argument: of kind 'p' (its address moves) or 'i'; never 'f'. */
  arg: number;
  param: number;
  /** Default 1. */
  scale?: number | bigint;
}

export interface CpuProgramLaunch {
  kernel: CpuKernel;
  /** Static grid (blocks = x·y·z); without it every run passes `grids`. */
  grid?: Dim3;
  /** As CpuLaunch.args: the count and every kind are checked at construction. */
  args: CpuArg[];
  patches?: CpuArgPatch[];
}

export interface CpuProgramOptions {
  launches: CpuProgramLaunch[];
  /** How many params each run passes (default 0, at most 1024). */
  params?: number;
}

export interface CpuProgramRun {
  params?: ProgramParams;
  /** 3 per launch; a launch runs x·y·z blocks. */
  grids?: Int32Array;
}

/** cpu launches run in order, each over the thread pool; run returns when all are done. */
export interface CpuProgram extends Disposable {
  readonly launches: number;
  readonly params: number;
  run(options?: CpuProgramRun): 'launched';
}

export interface CpuBackend {
  Context: new () => CpuContext;
  Module: new (context: CpuContext, path: string) => CpuModule;
  Kernel: new (module: CpuModule, name: string) => CpuKernel;
  Buffer: new (context: CpuContext, bytes: number) => CpuBuffer;
  /** Keeps the cpu.Buffers among its arguments from the garbage collector. */
  Program: new (context: CpuContext, options: CpuProgramOptions) => CpuProgram;
}

// ---------------------------------------------------------------------------------------------

export interface NativeAddon {
  /** Equal to NATIVE_ADDON_ABI_VERSION for a build that matches this file. */
  readonly abiVersion: number;
  /** DSV3C_CPU_ABI_VERSION of dsv3c_cpu_kernel.h the addon runs. */
  readonly cpuKernelAbiVersion: number;
  /** Never throws: a missing driver is an error string in the result. */
  probe(): ProbeResult;
  cuda: GpuBackend;
  hip: GpuBackend;
  cpu: CpuBackend;
}
