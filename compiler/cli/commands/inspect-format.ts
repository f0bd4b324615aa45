import type { InspectReport } from './inspect.ts';

const GB = 1e9;
const GIB = 1024 ** 3;

function count(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${Math.round(n)}`;
}

function bytes(n: number): string {
  return n >= GIB ? `${(n / GIB).toFixed(2)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(2)} MiB` : `${Math.round(n)} B`;
}

/** The human-readable form of `dsv3c inspect`. */
export function formatInspectReport(r: InspectReport): string {
  const p = r.parameters;
  const w = r.weightBytes;
  const m = r.mesh;
  const lines = [
    `${r.config}`,
    `  layers           ${r.layers.total} (${r.layers.dense} dense, ${r.layers.moe} MoE) + ${r.layers.mtp} MTP`,
    `  parameters       ${p.total.toLocaleString('en-US')} (${count(p.total)}); MTP module ${count(p.mtp)} more`,
    `  active / token   ${count(p.activePerToken)} (${count(p.activePerTokenWithoutEmbedding)} without the embedding table)`,
    ...Object.entries(p.byModule).map(([k, v]) => `    ${k.padEnd(15)} ${count(v!)}`),
    `  weight bytes     ${bytes(w.total)}: FP8 ${bytes(w.fp8)} + scales ${bytes(w.fp8Scales)}, BF16 ${bytes(w.bf16)}, F32 ${bytes(w.f32Other)}`,
    `  KV cache/token   ${r.kvCacheBytesPerToken.absorbedLatentBf16} B absorbed latent (bf16); ${r.kvCacheBytesPerToken.expandedBf16} B expanded`,
    `  decode FLOPs     ${(r.decodeFlopsPerToken.total / GB).toFixed(2)} GFLOP per token at context ${r.decodeFlopsPerToken.context} (optimized decode graph, absorbed MLA)`,
    `  mesh tp=${m.tp} ep=${m.ep}   ${m.ranks} ranks; per rank ${bytes(m.weightBytesPerRank)} weights + ${bytes(m.mtpWeightBytesPerRank)} MTP + ${bytes(m.kvBytesPerRank)} KV = ${bytes(m.totalBytesPerRank)}`,
    `  fits in ${bytes(m.gpuMemBytes)}   ${m.fits ? 'yes' : 'no'}`,
    ...(m.ranks > 1 ? [`  compiles         ${m.compileRefusal === null ? 'yes (dsv3c compile --mesh)' : `no: ${m.compileRefusal}`}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}
