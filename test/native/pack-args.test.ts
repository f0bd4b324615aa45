/** KernelArgPacker lays parameters out as nvcc does: natural alignment, little-endian. */
import { describe, expect, it } from 'vitest';

import { KernelArgPacker } from '../../runtime/src/native/pack-args.ts';

describe('KernelArgPacker', () => {
  it('aligns each parameter to its size', () => {
    // (int32 n, float* y, float a, double b): n@0, y@8, a@16, b@24.
    const bytes = new KernelArgPacker().i32(-3).ptr(0x1122334455667788n).f32(1.5).f64(-2.25).bytes();
    expect(bytes.length).toBe(32);
    const view = new DataView(bytes.buffer);
    expect(view.getInt32(0, true)).toBe(-3);
    expect(view.getBigUint64(8, true)).toBe(0x1122334455667788n);
    expect(view.getFloat32(16, true)).toBe(1.5);
    expect(view.getFloat64(24, true)).toBe(-2.25);
  });

  it('grows past its first chunk and rejects values that do not fit', () => {
    const packer = new KernelArgPacker();
    for (let i = 0; i < 20; i++) packer.u64(BigInt(i)).u32(i);
    const bytes = packer.bytes();
    expect(bytes.length).toBe(20 * 16 - 4);
    expect(new DataView(bytes.buffer).getBigUint64(19 * 16, true)).toBe(19n);
    expect(() => new KernelArgPacker().i32(2 ** 31)).toThrow(RangeError);
    expect(() => new KernelArgPacker().u32(-1)).toThrow(RangeError);
    expect(() => new KernelArgPacker().ptr(-1n)).toThrow(RangeError);
  });
});
