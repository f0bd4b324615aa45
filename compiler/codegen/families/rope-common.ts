/**
 * RoPE as the kernels apply it: the per-pair frequencies (YaRN-aware) and the amplitude are
 * computed here in float64 from the node's attrs, exactly as the reference does
 * (rope-frequencies.ts), and baked into the instance as a table; the kernel takes
 * angle = position · freq[i] in double and rotates the interleaved pair (2i, 2i + 1).
 */
import type { Attrs } from '../../ir/graph.ts';
import type { Constants } from '../kernel-family.ts';
import { ropeAmplitude, ropeFrequencies, ropeParamsFromAttrs } from '../../ir/ops/rope-frequencies.ts';

const ROPE_KEYS = ['dim', 'theta', 'scaling', 'factor', 'originalMax', 'betaFast', 'betaSlow', 'mscale', 'mscaleAllDim'] as const;

/** The RoPE attrs as constants (prefixed rope*), all of them: they determine the table. */
export function ropeConstants(a: Attrs): Constants {
  const out: Record<string, number | string> = {};
  for (const k of ROPE_KEYS) {
    const v = a[k];
    if (typeof v !== 'number' && typeof v !== 'string') throw new Error(`rope attr ${k} is missing`);
    out[`rope${k[0].toUpperCase()}${k.slice(1)}`] = v;
  }
  return out;
}

/** freqs: dim/2 doubles for the template's table; ropeAmp: the cos/sin amplitude. */
export function ropeDerive(c: Constants): { ropeFreqs: number[]; ropeAmp: number; ropeHalf: number } {
  const attrs = Object.fromEntries(ROPE_KEYS.map((k) => [k, c[`rope${k[0].toUpperCase()}${k.slice(1)}`]]));
  const p = ropeParamsFromAttrs(attrs);
  return { ropeFreqs: [...ropeFrequencies(p)], ropeAmp: ropeAmplitude(p), ropeHalf: p.dim / 2 };
}
