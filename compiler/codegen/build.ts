/**
 * How rendered sources become binaries, one table for the compile tests and (next) the runtime's
 * loader: the compiler and flags per dialect, and the cache key of a build — a hash of the source
 * and every flag, so that a rebuilt kernel never reuses a stale binary and an unchanged one is
 * built once (the name alone is not enough: the same instance renders differently per arch).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dialect } from './dialect.ts';

export const CPU_INCLUDE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../runtime/native/include');

/** What to build: an object file (the compile check) or what the runtime loads (cubin, code object, shared library). */
export type BuildKind = 'object' | 'loadable';

export interface BuildCommand {
  readonly tool: string;
  /** Flags only: the source and output paths are added by `argv`. */
  readonly flags: readonly string[];
}

/** nvcc for CUDA, hipcc for HIP, c++ for the cpu; `tool` overrides the executable (a found path). */
export function buildCommand(d: Dialect, kind: BuildKind, tool?: string): BuildCommand {
  switch (d.target) {
    case 'cuda': {
      const sm = d.arch.replace(/^sm_/, '');
      return { tool: tool ?? 'nvcc', flags: ['-std=c++17', '-O3', '-gencode', `arch=compute_${sm},code=sm_${sm}`, '-Werror', 'all-warnings', kind === 'object' ? '-c' : '-cubin'] };
    }
    case 'hip':
      return { tool: tool ?? 'hipcc', flags: ['-std=c++17', '-O3', `--offload-arch=${d.arch}`, kind === 'object' ? '-c' : '--genco'] };
    case 'cpu':
      return { tool: tool ?? process.env.CXX ?? 'c++', flags: ['-std=c++17', '-O2', '-fPIC', `-I${CPU_INCLUDE}`, kind === 'object' ? '-c' : '-shared'] };
  }
}

/** The full argument list: flags, extra flags (e.g. -Xptxas -v), output, source. */
export function argv(cmd: BuildCommand, source: string, output: string, extra: readonly string[] = []): string[] {
  return [...cmd.flags, ...extra, '-o', output, source];
}

/** sha256 of the tool's name, its flags and the source: the name of the binary in a cache. */
export function cacheKey(source: string, cmd: BuildCommand, extra: readonly string[] = []): string {
  const h = createHash('sha256');
  h.update(path.basename(cmd.tool));
  for (const f of [...cmd.flags, ...extra]) h.update(`\0${f}`);
  h.update('\0\0');
  h.update(source);
  return h.digest('hex');
}
