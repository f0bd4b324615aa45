/**
 * Finding and running the GPU compilers for the compile tests, and reading ptxas -v: which entry
 * functions it compiled, with how many registers and how many bytes of spill stores and loads.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** An executable by absolute candidates first, then on PATH; null when absent. */
export function findTool(name: string, candidates: readonly string[]): string | null {
  for (const c of candidates) if (existsSync(c)) return c;
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export const NVCC = findTool('nvcc', ['/usr/local/cuda/bin/nvcc']);
export const HIPCC = findTool('hipcc', ['/opt/rocm/bin/hipcc']);

export interface ToolRun {
  readonly code: number;
  readonly output: string; // stdout + stderr
  readonly seconds: number;
}

/** Runs a compiler asynchronously (so several archs build in parallel) and collects its output. */
export function runTool(tool: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ToolRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(tool, args, { env, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}`, seconds: (Date.now() - started) / 1000 });
    });
  });
}

export interface PtxasEntry {
  readonly name: string;
  registers: number;
  spillStores: number;
  spillLoads: number;
  stackBytes: number;
  sharedBytes: number;
}

/** Entry functions from `ptxas -v` output (nvcc -Xptxas -v), keyed by name. */
export function parsePtxas(output: string): Map<string, PtxasEntry> {
  const entries = new Map<string, PtxasEntry>();
  let current: PtxasEntry | null = null;
  for (const line of output.split('\n')) {
    const entry = /Compiling entry function '([^']+)'/.exec(line);
    if (entry) {
      current = { name: entry[1], registers: -1, spillStores: -1, spillLoads: -1, stackBytes: -1, sharedBytes: 0 };
      entries.set(current.name, current);
      continue;
    }
    if (!current) continue;
    const spill = /(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads/.exec(line);
    if (spill) [current.stackBytes, current.spillStores, current.spillLoads] = spill.slice(1).map(Number);
    const used = /Used (\d+) registers/.exec(line);
    if (used) current.registers = Number(used[1]);
    const smem = /(\d+) bytes smem/.exec(line);
    if (smem) current.sharedBytes = Number(smem[1]);
  }
  return entries;
}
