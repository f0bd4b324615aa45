/**
 * The GPU side of gpu-check: the bundle (bundle.json and its folder), one cuda context, cubins
 * loaded once each, and the harness Backend (test/codegen/harness.ts) over them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelInstance } from '../../compiler/codegen/instances.ts';
import type { GpuBuffer, GpuContext, GpuKernel, GpuModule, NativeAddon } from '../../runtime/src/native/addon-types.ts';
import { KernelArgPacker } from '../../runtime/src/native/pack-args.ts';
import type { Backend } from '../../test/codegen/harness.ts';
import type { BundleManifest } from './layout.ts';
import { BUNDLE_FORMAT } from './layout.ts';

export function readBundle(dir: string): BundleManifest {
  const m = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as BundleManifest;
  if (m.format !== BUNDLE_FORMAT) throw new Error(`${dir}/bundle.json: format ${m.format}, this gpu-check reads ${BUNDLE_FORMAT}; rebuild it with scripts/gpu-bundle.sh`);
  return m;
}

export class Gpu {
  readonly context: GpuContext;
  private readonly modules = new Map<string, GpuModule>();
  private readonly kernels = new Map<string, GpuKernel>();

  constructor(
    readonly addon: NativeAddon,
    readonly bundleDir: string,
    readonly bundle: BundleManifest,
  ) {
    this.context = new addon.cuda.Context(0);
  }

  module(path: string): GpuModule {
    let m = this.modules.get(path);
    if (!m) this.modules.set(path, (m = new this.addon.cuda.Module(this.context, path)));
    return m;
  }

  /** A kernel instance from its package cubin (bundle.json's cubins). */
  kernel(instance: string): GpuKernel {
    let k = this.kernels.get(instance);
    if (k) return k;
    const rel = this.bundle.cubins[instance];
    if (!rel) throw new Error(`no cubin for kernel instance ${instance} in the bundle`);
    k = new this.addon.cuda.Kernel(this.module(join(this.bundleDir, rel)), instance);
    this.kernels.set(instance, k);
    return k;
  }

  peer(name: 'peer_copy' | 'peer_sgemm'): GpuKernel {
    const key = `peers:${name}`;
    let k = this.kernels.get(key);
    if (!k) this.kernels.set(key, (k = new this.addon.cuda.Kernel(this.module(join(this.bundleDir, 'peers', 'peers.cubin')), name)));
    return k;
  }

  buffer(bytes: number): GpuBuffer {
    return new this.addon.cuda.Buffer(this.context, Math.max(bytes, 64));
  }

  /** The harness Backend: one launch, synchronized, so a fault is reported at its kernel. */
  backend(): Backend {
    return {
      alloc: (bytes) => this.buffer(bytes),
      launch: (inst: KernelInstance, grid, buffers, symbols) => {
        const kernel = this.kernel(inst.name);
        const args = new KernelArgPacker();
        for (const b of buffers) args.ptr((b as GpuBuffer).address);
        for (const s of symbols) args.i64(BigInt(s));
        if (inst.launch.sharedBytes > 48 * 1024) kernel.setMaxDynamicSharedMemory(inst.launch.sharedBytes);
        kernel.launch({ grid, block: [...inst.launch.block] as [number, number, number], sharedMemBytes: inst.launch.sharedBytes, args: args.bytes() });
        this.context.synchronize();
      },
    };
  }

  dispose(): void {
    for (const k of this.kernels.values()) k.dispose();
    for (const m of this.modules.values()) m.dispose();
    this.kernels.clear();
    this.modules.clear();
    this.context.dispose();
  }
}
