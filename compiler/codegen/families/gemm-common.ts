/**
 * What gemm, grouped_gemm and matmul share: their constants and the tiled template
 * (templates/partials/gpu_gemm.hbs, cpu_gemm.hbs). The math, for output row r and raw weight row n:
 *   acc = Σ_b scale_b · Σ_{k in K-block b} x[r, k] · w[n, k]
 *   scale_b = (actQuant ? xs[r, b] : 1) · (scaled ? ws[n / blockN, b] : 1)
 * exactly as gemm.ts's reference; swiglu reads gate and up rows interleaved in groups of `group`.
 */
import type { Attrs } from '../../ir/graph.ts';
import type { Constants, KernelFamily, NodeOperands, Tunables } from '../kernel-family.ts';
import { constDim, expectContiguous, rowsOf } from './operands.ts';

export function gemmConstants(a: Attrs, o: NodeOperands, grouped: boolean): Constants {
  const actQuant = a.actQuant === true;
  const scaled = a.scaled === true;
  const x = rowsOf('x', o.inputs[0]); // [rows, K]
  const xs = actQuant ? rowsOf('xs', o.inputs[1]) : null; // [rows, ⌈K/blockK⌉]
  const wIndex = (actQuant ? 2 : 1) + (grouped ? 1 : 0);
  const w = o.inputs[wIndex]; // [E?, N, K]
  for (const t of o.inputs.slice(wIndex)) expectContiguous('weights', t);
  if (grouped) expectContiguous('row_expert', o.inputs[wIndex - 1]);
  const swiglu = a.epilogue === 'swiglu';
  const N = constDim('w', w, -2);
  return {
    K: x.width,
    N,
    outWidth: swiglu ? N / 2 : N,
    actQuant,
    scaled,
    blockN: scaled ? (a.blockN as number) : 0,
    blockK: scaled ? (a.blockK as number) : 0,
    swiglu,
    group: swiglu ? (a.group as number) : 0,
    outQuant: a.outQuant === true,
    quantBlock: a.outQuant === true ? (a.quantBlock as number) : 0,
    grouped,
    experts: grouped ? constDim('w', w, 0) : 1,
    rows: x.rows,
    xStride: x.rowStride,
    xsStride: xs ? xs.rowStride : 0,
  };
}

export const GEMM_TUNABLES: KernelFamily['tunables'] = {
  gpu: {
    BM: { default: 16, space: [8, 16, 32, 64] },
    BN: { default: 128, space: [32, 64, 128, 256] },
    BK: { default: 32, space: [16, 32, 64, 128] },
    TM: { default: 2, space: [1, 2, 4, 8] },
    TN: { default: 4, space: [1, 2, 4, 8] },
  },
  cpu: { ROWS: { default: 1, space: [1, 2, 4, 8] } },
};

/** Threads of a GPU block: one per TM×TN micro-tile of the BM×BN output tile. */
export function gemmThreads(t: Tunables): number {
  return (t.BM / t.TM) * (t.BN / t.TN);
}

// Divisors that may be 0 (unused) appear as (flag ? size : 1): C++ rejects a literal % 0 even where || would skip it.
export const GEMM_CONSTRAINTS: KernelFamily['constraints'] = [
  { expr: 'BM % TM == 0 && BN % TN == 0', why: 'micro-tiles divide the tile', target: 'gpu' },
  { expr: '(BM / TM) * (BN / TN) % WARP == 0 && (BM / TM) * (BN / TN) <= 1024', why: 'whole warps, at most 1024 threads', target: 'gpu' },
  { expr: '(scaled ? blockK : BK) % BK == 0', why: 'a K tile lies inside one scale block', target: 'gpu' },
  { expr: 'BN % (outQuant ? quantBlock : 1) == 0', why: 'a tile holds whole output quant groups', target: 'gpu' },
  { expr: '!swiglu || (group > 0 && N % 2 == 0)', why: 'swiglu interleaves gate and up in groups' },
  { expr: '!actQuant || scaled', why: 'W8A8 needs block-scaled weights' },
  {
    expr: '4 * (BM * (BK + 1) + (swiglu ? 2 : 1) * BN * (BK + 1) + (outQuant ? BM * BN : 0) + BM) <= 48 * 1024',
    why: 'tiles fit in static shared memory',
    target: 'gpu',
  },
];

export function gemmLaunch(c: Constants, t: Tunables, target: 'gpu' | 'cpu'): ReturnType<KernelFamily['launch']> {
  if (target === 'cpu') return { grid: [`(${c.rows} + ${t.ROWS - 1}) / ${t.ROWS}`, '1', '1'], block: [1, 1, 1], sharedBytes: 0 };
  return {
    grid: [`(${c.rows} + ${t.BM - 1}) / ${t.BM}`, String(Math.ceil((c.outWidth as number) / t.BN)), '1'],
    block: [gemmThreads(t), 1, 1],
    sharedBytes: 0,
  };
}

export function gemmParams(c: Constants): { inputs: string[]; outputs: string[] } {
  return {
    inputs: ['x', ...(c.actQuant ? ['xs'] : []), ...(c.grouped ? ['rowExpert'] : []), 'w', ...(c.scaled ? ['ws'] : [])],
    outputs: c.outQuant ? ['y', 'ys'] : ['y'],
  };
}

export function gemmDerive(c: Constants, t: Tunables): Record<string, unknown> {
  const K = c.K as number;
  const kBlocks = c.scaled ? Math.ceil(K / (c.blockK as number)) : 1;
  return {
    NW: c.swiglu ? 2 : 1, // weight rows per output column: gate and up, or one
    kBlocks,
    wsPerExpert: c.scaled ? Math.ceil((c.N as number) / (c.blockN as number)) * kBlocks : 0,
    qGroups: c.outQuant ? Math.ceil((c.outWidth as number) / (c.quantBlock as number)) : 0,
    ...(t.BM !== undefined ? { TX: t.BN / t.TN, TY: t.BM / t.TM, THREADS: gemmThreads(t) } : {}), // GPU thread grid of a tile
  };
}
