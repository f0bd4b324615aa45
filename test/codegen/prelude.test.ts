/**
 * The prelude's software conversions (the cpu target's and HIP's fp8 path) against the
 * compiler's codecs, exhaustively where it is cheap: every e4m3fn code decodes to its value, and
 * encoding agrees with encodeE4M3FN (round to nearest even, ±448 saturation, NaN, −0, subnormals,
 * ties) and bf16 rounding with encodeBF16, on tricky and random float32 inputs.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { decodeBF16, encodeBF16 } from '../../compiler/checkpoint/bf16.ts';
import { E4M3FN_VALUES, encodeE4M3FN } from '../../compiler/checkpoint/fp8.ts';
import { CPU_DIALECT } from '../../compiler/codegen/dialect.ts';
import { compileTemplate } from '../../compiler/codegen/render.ts';
import { loadAddon } from '../../runtime/src/native/load-addon.ts';
import { NATIVE_INCLUDE, tempDir } from '../native/native-support.ts';
import { Rng } from '../reference/prng.ts';

const KERNEL = `
// decoded[256] from codes 0..255; fp8[n], bf16[n] encodings of x[n]
DSV3C_KERNEL(prelude_codecs, "ppppi") {
  using namespace dsv3c;
  float* decoded = static_cast<float*>(args->v[0].p);
  const float* x = static_cast<const float*>(args->v[1].p);
  uint8_t* fp8 = static_cast<uint8_t*>(args->v[2].p);
  uint16_t* bf16 = static_cast<uint16_t*>(args->v[3].p);
  const int64_t n = args->v[4].i;
  for (int c = 0; c < 256; ++c) decoded[c] = fp8_to_f32(fp8_t(c));
  for (int64_t i = 0; i < n; ++i) {
    fp8[i] = f32_to_fp8(x[i]);
    bf16[i] = f32_to_bf16(x[i]);
  }
}
`;

it('software fp8 and bf16 conversions agree with the compiler codecs', () => {
  const dir = tempDir('codegen-prelude');
  const source = path.join(dir, 'prelude.cc');
  writeFileSync(source, compileTemplate('{{> prelude}}')({ dialect: CPU_DIALECT }) + KERNEL);
  const lib = path.join(dir, 'libprelude.so');
  execFileSync(process.env.CXX ?? 'c++', ['-O2', '-shared', '-fPIC', '-std=c++17', `-I${NATIVE_INCLUDE}`, '-o', lib, source]);

  const rng = new Rng(7);
  const tricky = [0, -0, 448, -448, 464, 479.99, 480, 1e9, -1e9, Infinity, -Infinity, NaN, 2 ** -6, 2 ** -7, 2 ** -9, 2 ** -10, 1.5 * 2 ** -10, 3 * 2 ** -10, 1.0625, 1.1875, 17, 19, 240];
  const values = [...tricky, ...Array.from({ length: 20000 }, () => rng.normal() * 2 ** (rng.int(24) - 12))];
  const x = Float32Array.from(values);
  const addon = loadAddon();
  const context = new addon.cpu.Context();
  const module = new addon.cpu.Module(context, lib);
  const buffers = [256 * 4, x.byteLength, x.length, x.length * 2].map((b) => new addon.cpu.Buffer(context, b));
  buffers[1].write(x);
  new addon.cpu.Kernel(module, 'prelude_codecs').launch({ blocks: 1, args: [...buffers, x.length] });
  const decoded = new Float32Array(256);
  const fp8 = new Uint8Array(x.length);
  const bf16 = new Uint16Array(x.length);
  buffers[0].read(decoded);
  buffers[2].read(fp8);
  buffers[3].read(bf16);

  expect([...decoded].map((v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v))).toEqual(
    [...E4M3FN_VALUES].map((v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v)),
  );
  const fp8Wrong = [...x].map((v, i) => [v, fp8[i], encodeE4M3FN(v)] as const).filter(([, got, want]) => got !== want);
  expect(fp8Wrong.slice(0, 5)).toEqual([]);
  const bf16Wrong = [...x].map((v, i) => [v, bf16[i], encodeBF16(v)] as const).filter(([, got, want]) => got !== want && !(Number.isNaN(decodeBF16(got)) && Number.isNaN(decodeBF16(want))));
  expect(bf16Wrong.slice(0, 5)).toEqual([]);
});
