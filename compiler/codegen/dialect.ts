/**
 * Targets as dialect records (tinygrad's renderer/cstyle.py): CUDA, HIP and the cpu target differ
 * in a table of fields — warp size, includes, the bf16/fp8 storage types and their conversions,
 * index names, the shared-memory keyword, launch bounds, shuffles — and templates read the fields
 * instead of branching with #ifdef. The prelude partial (templates/partials/prelude.hbs) turns a
 * record into the helpers every kernel uses: bf16_t, fp8_t, bf16_to_f32, f32_to_fp8, shfl_xor, WARP.
 */

export type TargetKind = 'cuda' | 'hip' | 'cpu';

export interface Dialect {
  readonly target: TargetKind;
  /** The architecture the record describes: sm_90a, sm_80, gfx90a, gfx940, host. */
  readonly arch: string;
  /** File extension of a rendered instance, also the template suffix (templates/<target>/<family><ext>.hbs). */
  readonly ext: '.cu' | '.hip' | '.cc';
  /** Lanes that execute a shuffle together: 32 on NVIDIA, 64 on CDNA; 1 on the cpu (no warps). */
  readonly warpSize: number;
  readonly includes: readonly string[];
  /** How a helper is declared: device-inline on GPUs, plain inline on the cpu. */
  readonly inline: string;
  readonly kernelPrefix: string; // before the kernel's name: extern "C" __global__ void
  /**
   * `__launch_bounds__(n, 1)`: the block's thread count, and at least one block per SM. With the
   * thread count alone ptxas (sm_80) aimed at higher occupancy and spilled the GEMM's accumulators
   * at 40 registers; on HIP the second argument is a minimum of waves per EU, 1 being no constraint.
   */
  readonly launchBounds: string; // with {threads} to fill in
  readonly threadIdx: string;
  readonly blockIdx: { readonly x: string; readonly y: string; readonly z: string };
  readonly shared: string;
  /** A read-only table the kernel indexes (RoPE frequencies): constant memory on GPUs. */
  readonly constantTable: string;
  readonly syncThreads: string;
  /** A full-warp xor shuffle of float v by o lanes. */
  readonly shflXor: string;
  readonly bf16: { readonly type: string; readonly toF32: string; readonly fromF32: string };
  readonly fp8: Fp8Dialect;
  /** Expressions reinterpreting uint32 `u` as float and float `f` as uint32, for the software codecs. */
  readonly bitsToF32: string;
  readonly f32ToBits: string;
}

/**
 * FP8 e4m3 as the checkpoint stores it (OCP e4m3fn, max 448) is always the byte format in memory.
 * `hardware`: conversions are instructions (cuda_fp8.h on sm_89+ / sm_90; on sm_80 the same header
 * emulates them). Otherwise the prelude's software codec (round to nearest even, saturating at
 * ±448, NaN stays NaN) converts, bit for bit what the compiler's encodeE4M3FN does.
 */
export interface Fp8Dialect {
  readonly hardware: boolean;
  /** Body of `float fp8_to_f32(uint8_t b)`, or null for the software decode. */
  readonly decode: string | null;
  /** Body of `uint8_t f32_to_fp8(float x)`, or null for the software encode. */
  readonly encode: string | null;
  /** What a reader of the generated code must know about this target's fp8. */
  readonly note: string;
}

const GPU_COMMON = {
  inline: '__device__ __forceinline__',
  kernelPrefix: 'extern "C" __global__ void',
  launchBounds: '__launch_bounds__({threads}, 1)',
  threadIdx: 'threadIdx.x',
  blockIdx: { x: 'blockIdx.x', y: 'blockIdx.y', z: 'blockIdx.z' },
  shared: '__shared__',
  constantTable: '__constant__ const',
  syncThreads: '__syncthreads()',
  bitsToF32: '__uint_as_float(u)',
  f32ToBits: '__float_as_uint(f)',
} as const;

/**
 * bf16 as its 16 bits with the prelude's bit-math conversions (round to nearest even, NaN kept
 * quiet): the cpu, and HIP, whose bf16 header and type changed name across ROCm releases
 * (hip_bfloat16.h in 5.2, which Debian ships; hip_bf16.h's __hip_bfloat16 from 5.7). CDNA2/3 have
 * no f32→bf16 instruction, so the headers do this same bit math; prelude.test.ts checks it.
 */
const SOFT_BF16 = { type: 'uint16_t', toF32: 'as_f32(uint32_t(v) << 16)', fromF32: 'bf16_soft_round(x)' } as const;

/** CUDA for one SM architecture: sm_90a (H100/H200, hardware fp8) or sm_80 (A100, emulated fp8). */
export function cudaDialect(arch: 'sm_90a' | 'sm_80'): Dialect {
  const hardware = arch !== 'sm_80';
  return {
    ...GPU_COMMON,
    target: 'cuda',
    arch,
    ext: '.cu',
    warpSize: 32,
    includes: ['<cstdint>', '<cuda_bf16.h>', '<cuda_fp8.h>'],
    shflXor: '__shfl_xor_sync(0xffffffffu, v, o)',
    bf16: { type: '__nv_bfloat16', toF32: '__bfloat162float(v)', fromF32: '__float2bfloat16_rn(x)' },
    fp8: {
      hardware,
      decode: '__nv_fp8_e4m3 v; v.__x = b; return static_cast<float>(v);',
      encode: 'return __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3);',
      note: hardware
        ? `${arch}: e4m3fn conversions are cvt instructions (cuda_fp8.h __nv_fp8_e4m3)`
        : `${arch}: no fp8 hardware; cuda_fp8.h emulates the same e4m3fn conversions in software`,
    },
  };
}

/**
 * HIP for one CDNA architecture. gfx940+ (MI300) has fp8 instructions, but for e4m3fnuz (bias 8,
 * max 240): using them needs the checkpoint's fn bytes re-encoded at load with doubled scales
 * (compiler/checkpoint/fp8.ts e4m3fnToFnuz). Until the loader does that, both archs decode and
 * encode e4m3fn in software; gfx90a (MI200) has no fp8 at all.
 */
export function hipDialect(arch: 'gfx90a' | 'gfx940'): Dialect {
  return {
    ...GPU_COMMON,
    target: 'hip',
    arch,
    ext: '.hip',
    warpSize: 64,
    includes: ['<cstdint>', '<hip/hip_runtime.h>'],
    shflXor: '__shfl_xor(v, o)',
    bf16: SOFT_BF16,
    fp8: {
      hardware: false,
      decode: null,
      encode: null,
      note:
        arch === 'gfx90a'
          ? 'gfx90a: no fp8 hardware; e4m3fn decoded and encoded in software'
          : 'gfx940: hardware fp8 is e4m3fnuz; until the loader re-encodes fn bytes, e4m3fn in software',
    },
  };
}

/** The cpu target: plain C++ against runtime/native/include/dsv3c_cpu_kernel.h; a "block" is a loop chunk. */
export const CPU_DIALECT: Dialect = {
  target: 'cpu',
  arch: 'host',
  ext: '.cc',
  warpSize: 1,
  includes: ['<cmath>', '<cstdint>', '<cstring>', '<dsv3c_cpu_kernel.h>'],
  inline: 'static inline',
  kernelPrefix: '',
  launchBounds: '',
  threadIdx: '0',
  blockIdx: { x: 'block_index', y: '0', z: '0' },
  shared: 'static thread_local',
  constantTable: 'static const',
  syncThreads: '(void)0',
  shflXor: 'v',
  bf16: SOFT_BF16,
  fp8: { hardware: false, decode: null, encode: null, note: 'cpu: e4m3fn decoded and encoded in software' },
  bitsToF32: '__builtin_bit_cast(float, u)',
  f32ToBits: '__builtin_bit_cast(uint32_t, f)',
};

/** Every GPU dialect the compile tests build for. */
export const GPU_DIALECTS: readonly Dialect[] = [cudaDialect('sm_90a'), cudaDialect('sm_80'), hipDialect('gfx90a'), hipDialect('gfx940')];

export function launchBoundsFor(d: Dialect, threads: number): string {
  return d.launchBounds.replace('{threads}', String(threads));
}
