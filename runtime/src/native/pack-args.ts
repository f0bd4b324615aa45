/**
 * Packs GPU kernel parameters into the byte buffer a launch takes (GpuLaunch.args): each parameter
 * at its natural alignment, in declaration order, little-endian — the layout nvcc and hipcc give
 * a __global__ function's parameter list. Pointers are 8 bytes (a GpuBuffer's address plus any
 * byte offset).
 *
 *   const args = new KernelArgPacker().ptr(y.address).ptr(x.address).f32(2.5).i32(n).bytes();
 */
export class KernelArgPacker {
  private buffer = new ArrayBuffer(64);
  private view = new DataView(this.buffer);
  private length = 0;

  ptr(address: bigint): this {
    return this.u64(address);
  }

  i32(value: number): this {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      throw new RangeError(`i32 argument out of range: ${value}`);
    }
    const at = this.place(4);
    this.view.setInt32(at, value, true);
    return this;
  }

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`u32 argument out of range: ${value}`);
    }
    const at = this.place(4);
    this.view.setUint32(at, value, true);
    return this;
  }

  i64(value: bigint): this {
    const at = this.place(8);
    this.view.setBigInt64(at, BigInt.asIntN(64, value), true);
    return this;
  }

  u64(value: bigint): this {
    if (value < 0n || value >= 1n << 64n) throw new RangeError(`u64 argument out of range: ${value}`);
    const at = this.place(8);
    this.view.setBigUint64(at, value, true);
    return this;
  }

  f32(value: number): this {
    const at = this.place(4);
    this.view.setFloat32(at, value, true);
    return this;
  }

  f64(value: number): this {
    const at = this.place(8);
    this.view.setFloat64(at, value, true);
    return this;
  }

  /** The packed parameters (a copy), ready for GpuKernel.launch({ args }). */
  bytes(): Uint8Array {
    return new Uint8Array(this.buffer.slice(0, this.length));
  }

  /**
   * Aligns the end to `size` and reserves `size` bytes; returns their offset. It may replace
   * this.view, so callers read this.view only after calling it.
   */
  private place(size: number): number {
    const offset = Math.ceil(this.length / size) * size;
    const end = offset + size;
    if (end > this.buffer.byteLength) {
      const grown = new ArrayBuffer(Math.max(end, this.buffer.byteLength * 2));
      new Uint8Array(grown).set(new Uint8Array(this.buffer));
      this.buffer = grown;
      this.view = new DataView(grown);
    }
    this.length = end;
    return offset;
  }
}
