/**
 * Where the kernel compilers are: an environment override first (DSV3C_NVCC, DSV3C_HIPCC, CXX),
 * then the toolkit's usual install path, then PATH. Null when absent, so callers choose between a
 * clear error (compile --build) and a visible skip (tests).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TargetKind } from './dialect.ts';

/** An executable by absolute candidates first, then on PATH; null when absent. */
export function findTool(name: string, candidates: readonly string[]): string | null {
  for (const c of candidates) if (existsSync(c)) return c;
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const COMPILERS: Readonly<Record<TargetKind, { env: string; name: string; paths: readonly string[]; install: string }>> = {
  cuda: { env: 'DSV3C_NVCC', name: 'nvcc', paths: ['/usr/local/cuda/bin/nvcc'], install: 'install the CUDA toolkit (nvcc) or set DSV3C_NVCC' },
  hip: { env: 'DSV3C_HIPCC', name: 'hipcc', paths: ['/opt/rocm/bin/hipcc'], install: 'run scripts/install-system-deps.sh (Debian hipcc) or set DSV3C_HIPCC' },
  cpu: { env: 'CXX', name: 'c++', paths: [], install: 'install a C++ compiler (g++ or clang++) or set CXX' },
};

/** The compiler for a target, or an error that says how to get one. */
export function kernelCompiler(target: TargetKind): string {
  const c = COMPILERS[target];
  const override = process.env[c.env];
  if (override) {
    if (!existsSync(override) && findTool(override, []) === null) throw new Error(`${c.env}=${override}: no such executable`);
    return override;
  }
  const found = findTool(c.name, c.paths);
  if (!found) throw new Error(`no ${c.name} found for --target ${target}: ${c.install}`);
  return found;
}
