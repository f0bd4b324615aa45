/**
 * Finding and running the GPU compilers for the compile tests, and reading what they report per
 * kernel: ptxas -v (registers, bytes of spill stores and loads) and clang's AMDGPU resource remarks
 * (VGPRs, SGPRs, spills, scratch).
 */
import { execFile } from 'node:child_process';
import { findTool } from '../../compiler/codegen/find-tool.ts';

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

export interface AmdEntry {
  readonly name: string;
  vgprs: number;
  sgprs: number;
  agprs: number;
  scratchBytes: number; // per lane
  vgprSpill: number;
  sgprSpill: number;
  ldsBytes: number;
}

/**
 * Kernels from clang's AMDGPU resource remarks (hipcc -Rpass-analysis=kernel-resource-usage), keyed
 * by name: "remark: Function Name: NAME", then one "remark:     FIELD: N" line per resource.
 */
export function parseAmdResourceUsage(output: string): Map<string, AmdEntry> {
  const fields: Record<string, keyof Omit<AmdEntry, 'name'>> = {
    VGPRs: 'vgprs',
    SGPRs: 'sgprs',
    AGPRs: 'agprs',
    'ScratchSize [bytes/lane]': 'scratchBytes',
    'VGPRs Spill': 'vgprSpill',
    'SGPRs Spill': 'sgprSpill',
    'LDS Size [bytes/block]': 'ldsBytes',
  };
  const entries = new Map<string, AmdEntry>();
  let current: AmdEntry | null = null;
  for (const line of output.split('\n')) {
    const name = /remark: Function Name: (\S+)/.exec(line);
    if (name) {
      current = { name: name[1], vgprs: -1, sgprs: -1, agprs: -1, scratchBytes: -1, vgprSpill: -1, sgprSpill: -1, ldsBytes: -1 };
      entries.set(current.name, current);
      continue;
    }
    const field = /remark: {2,}([^:]+): (\d+)/.exec(line);
    if (current && field && field[1] in fields) current[fields[field[1]]] = Number(field[2]);
  }
  return entries;
}
