/**
 * The addon declares the CUDA driver prototypes itself (runtime/native/src/cuda_decls.h) so that
 * it builds without CUDA. This checks them against the toolkit's own headers wherever a toolkit is
 * installed (the dev machines and CI have nvcc): for each PFN_cuX we declare, the versioned typedef
 * PFN_cuX_v<N> in cudaTypedefs.h that cuGetProcAddress returns when asked for CUDA 12.0 (the
 * highest N <= 12000) must have the same ABI: the same parameter count, and each parameter and
 * the result of the same kind and size. The constants are checked against cuda.h too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { NATIVE_SRC, tempDir } from './native-support.ts';

/** $CUDA_HOME, else /usr/local/cuda, else the newest /usr/local/cuda-<version> with the headers. */
function cudaInclude(): string {
  if (process.env.CUDA_HOME) return path.join(process.env.CUDA_HOME, 'include');
  const versioned = readdirSync('/usr/local')
    .filter((d) => /^cuda-\d/.test(d))
    .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }))
    .map((d) => path.join('/usr/local', d, 'include'));
  return ['/usr/local/cuda/include', ...versioned].find((dir) => existsSync(path.join(dir, 'cudaTypedefs.h'))) ?? '/usr/local/cuda/include';
}
const CUDA_INCLUDE = cudaInclude();
const TYPEDEFS = path.join(CUDA_INCLUDE, 'cudaTypedefs.h');
const hasToolkit = existsSync(TYPEDEFS);
const ABI_VERSION = 12000;

/** The versioned typedef cuGetProcAddress(name, ABI_VERSION) stands for. */
function versionFor(name: string, typedefs: string): number {
  const versions = [...typedefs.matchAll(new RegExp(`PFN_${name}_v(\\d+)(?!\\w)`, 'g'))].map((m) => Number(m[1]));
  const eligible = versions.filter((v) => v <= ABI_VERSION);
  if (eligible.length === 0) throw new Error(`cudaTypedefs.h has no PFN_${name}_v<N> with N <= ${ABI_VERSION}`);
  return Math.max(...eligible);
}

describe.skipIf(!hasToolkit)(`CUDA prototypes against ${TYPEDEFS}`, () => {
  it('every declared entry point and constant matches the toolkit', () => {
    const decls = readFileSync(path.join(NATIVE_SRC, 'cuda_decls.h'), 'utf8');
    expect(decls).toContain(`kCudaAbiVersion = ${ABI_VERSION}`);
    const typedefs = readFileSync(TYPEDEFS, 'utf8');
    const names = [...decls.matchAll(/using PFN_(\w+) =/g)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(30);
    const checks = names.map((name) => {
      const version = versionFor(name, typedefs);
      return `static_assert(sameAbi<dsv3c::cu::PFN_${name}, ::PFN_${name}_v${version}>(), "PFN_${name} differs from PFN_${name}_v${version}");`;
    });
    const constants = [...decls.matchAll(/constexpr \w+(?: \w+)* (CU\w+) = /g)].map((m) => m[1]);
    const launchParams = { kLaunchParamEnd: 'END', kLaunchParamBufferPointer: 'BUFFER_POINTER', kLaunchParamBufferSize: 'BUFFER_SIZE' };
    const source = `
#include <cuda.h>
#include <cudaTypedefs.h>
#include <array>
#include <type_traits>
#include "cuda_decls.h"

// The ABI kind of a type: pointers, floating point of a size, integers and enums of a size.
template <class T> constexpr int kind() {
  if constexpr (std::is_void_v<T>) return 0;
  else if constexpr (std::is_pointer_v<T>) return 1000;
  else if constexpr (std::is_floating_point_v<T>) return 2000 + int(sizeof(T));
  else { static_assert(std::is_integral_v<T> || std::is_enum_v<T>); return int(sizeof(T)); }
}
template <class F> struct Sig;
template <class R, class... A> struct Sig<R (*)(A...)> {
  static constexpr std::array<int, sizeof...(A) + 1> kinds{kind<R>(), kind<A>()...};
};
template <class Mine, class Theirs> constexpr bool sameAbi() {
  if constexpr (Sig<Mine>::kinds.size() != Sig<Theirs>::kinds.size()) return false;
  else return Sig<Mine>::kinds == Sig<Theirs>::kinds;
}

${checks.join('\n')}
${constants.map((c) => `static_assert(dsv3c::cu::${c} == ${c}, "${c}");`).join('\n')}
${Object.entries(launchParams)
  .map(([mine, theirs]) => `static_assert(dsv3c::cu::${mine} == CU_LAUNCH_PARAM_${theirs}_AS_INT, "${mine}");`)
  .join('\n')}
`;
    const file = path.join(tempDir('cuda-abi'), 'cuda_abi_check.cc');
    writeFileSync(file, source);
    const compile = () =>
      execFileSync(process.env.CXX ?? 'c++', ['-std=c++20', '-fsyntax-only', `-I${CUDA_INCLUDE}`, `-I${NATIVE_SRC}`, file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    expect(compile).not.toThrow();
    expect(constants.length).toBeGreaterThan(5);
  });
});
