/**
 * How rendered sources become binaries, one table for the compile tests and (next) the runtime's
 * loader: the compiler and flags per dialect, and the cache key of a build — a hash of the source
 * and every flag, so that a rebuilt kernel never reuses a stale binary and an unchanged one is
 * built once (the name alone is not enough: the same instance renders differently per arch).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Dialect } from './dialect.ts';
import { packageRoot } from '../../runtime/src/package-root.ts';

/** What to build: an object file (the compile check) or what the runtime loads (cubin, code object, shared library). */
export type BuildKind = 'object' | 'loadable';

export interface BuildCommand {
  readonly tool: string;
  /** Flags only: the source and output paths are added by `argv`. */
  readonly flags: readonly string[];
  /**
   * Variables the compiler's environment must have, on top of the caller's (`buildEnv`). hipcc
   * reads HIP_PLATFORM: unset, Debian's hipcc (ROCm 5.2) picks nvidia when it finds nvcc and
   * hands our --offload-arch to nvcc, which rejects it.
   */
  readonly env: Readonly<Record<string, string>>;
}

/** nvcc for CUDA, hipcc for HIP, c++ for the cpu; `tool` overrides the executable (a found path). */
export function buildCommand(d: Dialect, kind: BuildKind, tool?: string): BuildCommand {
  switch (d.target) {
    case 'cuda': {
      const sm = d.arch.replace(/^sm_/, '');
      return { tool: tool ?? 'nvcc', flags: ['-std=c++17', '-O3', '-gencode', `arch=compute_${sm},code=sm_${sm}`, '-Werror', 'all-warnings', kind === 'object' ? '-c' : '-cubin'], env: {} };
    }
    case 'hip':
      // -Wall -Werror: warnings fail the build, as -Werror all-warnings does for nvcc.
      return { tool: tool ?? 'hipcc', flags: ['-std=c++17', '-O3', `--offload-arch=${d.arch}`, '-Wall', '-Werror', kind === 'object' ? '-c' : '--genco'], env: { HIP_PLATFORM: 'amd' } };
    case 'cpu':
      return { tool: tool ?? process.env.CXX ?? 'c++', flags: ['-std=c++17', '-O2', '-fPIC', `-I${path.join(packageRoot(), 'runtime/native/include')}`, kind === 'object' ? '-c' : '-shared'], env: {} };
  }
}

/** The full argument list: flags, extra flags (e.g. -Xptxas -v), output, source. */
export function argv(cmd: BuildCommand, source: string, output: string, extra: readonly string[] = []): string[] {
  return [...cmd.flags, ...extra, '-o', output, source];
}

/** The environment to run `cmd.tool` in: the given one (the process's) plus `cmd.env`. */
export function buildEnv(cmd: BuildCommand, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, ...cmd.env };
}

/** sha256 of the tool's name, its flags, its environment and the source: the name of the binary in a cache. */
export function cacheKey(source: string, cmd: BuildCommand, extra: readonly string[] = []): string {
  const h = createHash('sha256');
  h.update(path.basename(cmd.tool));
  for (const f of [...cmd.flags, ...extra]) h.update(`\0${f}`);
  // Only when set, so that keys of builds without an environment stay what they were.
  for (const k of Object.keys(cmd.env).sort()) h.update(`\0env:${k}=${cmd.env[k]}`);
  h.update('\0\0');
  h.update(source);
  return h.digest('hex');
}
