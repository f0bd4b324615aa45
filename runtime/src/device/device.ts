/**
 * One interface over the addon's three backends (runtime/native): memory with a device address,
 * kernels loaded from build/ binaries, a launch that takes the plan's arguments as they are
 * (pointers, then int64 step symbols), and a program: a list of such launches handed to the addon
 * once and run per step with one call (the addon's Program). The executor is written once
 * against this; only the packing differs: the cpu ABI takes a list, CUDA and HIP a packed
 * parameter buffer.
 */
import { totalmem } from 'node:os';
import type {
  CpuArg,
  CpuArgPatch,
  CpuKernel,
  GpuArgPatch,
  GpuBackend,
  GpuContext,
  GpuKernel,
  NativeAddon,
  ProgramRunResult,
} from '../native/addon-types.ts';
import { loadAddon } from '../native/load-addon.ts';
import { KernelArgPacker } from '../native/pack-args.ts';

export type DeviceKind = 'cpu' | 'cuda' | 'hip';

export interface DeviceMemory {
  readonly address: bigint;
  readonly size: number;
  write(data: ArrayBufferView, byteOffset?: number): void;
  read(into: ArrayBufferView, byteOffset?: number): void;
  fill(byte: number): void;
  dispose(): void;
}

export interface DeviceKernel {
  readonly name: string;
  launch(grid: readonly [number, number, number], block: readonly [number, number, number], sharedBytes: number, pointers: readonly bigint[], ints: readonly number[]): void;
}

/** A pointer argument of a program launch: `address`, plus scale × params[param] each run when given. */
export interface ProgramPointer {
  readonly address: bigint;
  readonly param?: number;
  readonly scale?: number;
}

/** One launch of a program: the kernel's pointers then its int64 arguments (as DeviceKernel.launch). */
export interface ProgramLaunch {
  /** A kernel this device loaded. */
  readonly kernel: DeviceKernel;
  readonly block: readonly [number, number, number];
  readonly sharedBytes: number;
  readonly pointers: readonly ProgramPointer[];
  /** Each int64 argument is params[i] for the index given. */
  readonly ints: readonly number[];
}

export interface DeviceProgram {
  /**
   * One step: `params` (the program's count of them), `grids` 3 per launch (an entry below 1 skips
   * that launch). `graph`: on CUDA, replay the graph captured for the same params and grids, or
   * capture it now; elsewhere plain launches. GPU runs are queued on the null stream, so buffer
   * reads and writes (also on it) are ordered after them.
   */
  run(params: Int32Array, grids: Int32Array, graph: boolean): ProgramRunResult;
  /** Graphs captured and kept. */
  readonly graphs: number;
  dispose(): void;
}

export interface Device {
  readonly kind: DeviceKind;
  /** What the user sees: "cpu (16 threads)", "NVIDIA H100 80GB HBM3". */
  readonly name: string;
  /** Memory kernels can use: the GPU's, or the host's for the cpu. */
  readonly memoryBytes: number;
  /** `what` names the allocation in the out-of-memory error. */
  alloc(bytes: number, what: string): DeviceMemory;
  /** A kernel from a binary of build/: the cpu's shared library, a cubin or a HIP code object. */
  loadKernel(binaryPath: string, name: string): DeviceKernel;
  /** A program over kernels this device loaded; checks every launch now. */
  createProgram(launches: readonly ProgramLaunch[], params: number): DeviceProgram;
  /** Waits for every launch (a no-op on the cpu, whose launches return when done). */
  synchronize(): void;
  dispose(): void;
}

export class DeviceMemoryError extends Error {
  readonly userFacing = true;
}

export function openDevice(kind: DeviceKind, addon: NativeAddon = loadAddon()): Device {
  return kind === 'cpu' ? cpuDevice(addon) : gpuDevice(kind, kind === 'cuda' ? addon.cuda : addon.hip);
}

function allocOrExplain<T>(kind: DeviceKind, bytes: number, what: string, alloc: () => T): T {
  try {
    return alloc();
  } catch (e) {
    throw new DeviceMemoryError(`${kind}: cannot allocate ${what} (${bytes.toLocaleString('en-US')} bytes): ${(e as Error).message}`);
  }
}

/** The native kernel behind a DeviceKernel of this device, or an error naming it. */
function nativeOf<K>(natives: WeakMap<DeviceKernel, K>, kernel: DeviceKernel): K {
  const native = natives.get(kernel);
  if (!native) throw new Error(`createProgram: kernel ${kernel.name} was not loaded by this device`);
  return native;
}

function cpuDevice(addon: NativeAddon): Device {
  const context = new addon.cpu.Context();
  const modules = new Map<string, InstanceType<NativeAddon['cpu']['Module']>>();
  const natives = new WeakMap<DeviceKernel, CpuKernel>();
  return {
    kind: 'cpu',
    name: `cpu (${context.threads} threads)`,
    memoryBytes: totalmem(),
    alloc: (bytes, what) => allocOrExplain('cpu', bytes, what, () => new addon.cpu.Buffer(context, Math.max(bytes, 1))),
    loadKernel(binaryPath, name) {
      let module = modules.get(binaryPath);
      if (!module) modules.set(binaryPath, (module = new addon.cpu.Module(context, binaryPath)));
      const kernel = new addon.cpu.Kernel(module, name);
      const loaded: DeviceKernel = {
        name,
        launch(grid, _block, _shared, pointers, ints) {
          const args: CpuArg[] = [...pointers, ...ints];
          kernel.launch({ blocks: grid[0] * grid[1] * grid[2], args });
        },
      };
      natives.set(loaded, kernel);
      return loaded;
    },
    createProgram(launches, params) {
      const program = new addon.cpu.Program(context, {
        params,
        launches: launches.map((l) => {
          const patches: CpuArgPatch[] = [];
          l.pointers.forEach((p, i) => p.param !== undefined && patches.push({ arg: i, param: p.param, scale: p.scale ?? 1 }));
          l.ints.forEach((param, i) => patches.push({ arg: l.pointers.length + i, param }));
          return { kernel: nativeOf(natives, l.kernel), args: [...l.pointers.map((p) => p.address), ...l.ints.map(() => 0)], patches };
        }),
      });
      return { run: (p, grids) => program.run({ params: p, grids }), graphs: 0, dispose: () => program.dispose() };
    },
    synchronize: () => context.synchronize(),
    dispose: () => context.dispose(),
  };
}

function gpuDevice(kind: 'cuda' | 'hip', backend: GpuBackend): Device {
  const context: GpuContext = new backend.Context(0);
  const info = context.info();
  const modules = new Map<string, InstanceType<GpuBackend['Module']>>();
  const natives = new WeakMap<DeviceKernel, GpuKernel>();
  return {
    kind,
    name: info.name,
    memoryBytes: info.totalMemBytes,
    alloc: (bytes, what) => allocOrExplain(kind, bytes, what, () => new backend.Buffer(context, Math.max(bytes, 1))),
    loadKernel(binaryPath, name) {
      let module = modules.get(binaryPath);
      if (!module) modules.set(binaryPath, (module = new backend.Module(context, binaryPath)));
      const kernel = new backend.Kernel(module, name);
      let sharedOptIn = 48 * 1024;
      const loaded: DeviceKernel = {
        name,
        launch(grid, block, sharedBytes, pointers, ints) {
          if (sharedBytes > sharedOptIn) {
            kernel.setMaxDynamicSharedMemory(sharedBytes);
            sharedOptIn = sharedBytes;
          }
          const args = new KernelArgPacker();
          for (const p of pointers) args.ptr(p);
          for (const i of ints) args.i64(BigInt(i));
          kernel.launch({ grid: [...grid], block: [...block], sharedMemBytes: sharedBytes, args: args.bytes() });
        },
      };
      natives.set(loaded, kernel);
      return loaded;
    },
    createProgram(launches, params) {
      // Every argument is 8 bytes (pointers, then int64 symbols), so slot i is at byte 8·i; a
      // patched slot holds its base (the row-0 address, or 0 for a symbol).
      const program = new backend.Program(context, {
        params,
        launches: launches.map((l) => {
          const args = new KernelArgPacker();
          const patches: GpuArgPatch[] = [];
          l.pointers.forEach((p, i) => {
            args.ptr(p.address);
            if (p.param !== undefined) patches.push({ at: 8 * i, param: p.param, scale: p.scale ?? 1 });
          });
          l.ints.forEach((param, i) => {
            args.i64(0n);
            patches.push({ at: 8 * (l.pointers.length + i), param });
          });
          return { kernel: nativeOf(natives, l.kernel), block: [...l.block], sharedMemBytes: l.sharedBytes, args: args.bytes(), patches };
        }),
      });
      return {
        run: (p, grids, graph) => program.run({ params: p, grids, graph }),
        get graphs() {
          return program.graphs;
        },
        dispose: () => program.dispose(),
      };
    },
    synchronize: () => context.synchronize(),
    dispose: () => context.dispose(),
  };
}
