/**
 * One interface over the addon's three backends (runtime/native): memory with a device address,
 * kernels loaded from build/ binaries, and a launch that takes the plan's arguments as they are
 * (pointers, then int64 step symbols). The executor is written once against this; only the
 * packing differs: the cpu ABI takes a list, CUDA and HIP a packed parameter buffer.
 */
import { totalmem } from 'node:os';
import type { CpuArg, GpuBackend, GpuContext, NativeAddon } from '../native/addon-types.ts';
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

function cpuDevice(addon: NativeAddon): Device {
  const context = new addon.cpu.Context();
  const modules = new Map<string, InstanceType<NativeAddon['cpu']['Module']>>();
  return {
    kind: 'cpu',
    name: `cpu (${context.threads} threads)`,
    memoryBytes: totalmem(),
    alloc: (bytes, what) => allocOrExplain('cpu', bytes, what, () => new addon.cpu.Buffer(context, Math.max(bytes, 1))),
    loadKernel(binaryPath, name) {
      let module = modules.get(binaryPath);
      if (!module) modules.set(binaryPath, (module = new addon.cpu.Module(context, binaryPath)));
      const kernel = new addon.cpu.Kernel(module, name);
      return {
        name,
        launch(grid, _block, _shared, pointers, ints) {
          const args: CpuArg[] = [...pointers, ...ints];
          kernel.launch({ blocks: grid[0] * grid[1] * grid[2], args });
        },
      };
    },
    synchronize: () => context.synchronize(),
    dispose: () => context.dispose(),
  };
}

function gpuDevice(kind: 'cuda' | 'hip', backend: GpuBackend): Device {
  const context: GpuContext = new backend.Context(0);
  const info = context.info();
  const modules = new Map<string, InstanceType<GpuBackend['Module']>>();
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
      return {
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
    },
    synchronize: () => context.synchronize(),
    dispose: () => context.dispose(),
  };
}
