import type { ModelConfig } from './model-config.ts';

/**
 * A tensor × expert parallel mesh of tp·ep ranks. Attention heads, dense MLPs, shared experts and
 * the vocabulary split tp ways; routed experts split ep ways, and each expert's intermediate size
 * splits tp ways again, so every rank holds 1/(tp·ep) of the routed experts.
 */
export interface Mesh {
  readonly tp: number;
  readonly ep: number;
}

export const SINGLE_RANK: Mesh = Object.freeze({ tp: 1, ep: 1 });

/** A mesh the model cannot be split over; names the mesh axis and the config field it fails. */
export class MeshError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'MeshError';
  }
}

/** Parses "tp=8,ep=4" (either part may be left out, defaulting to 1). */
export function parseMesh(text: string): Mesh {
  const mesh = { tp: 1, ep: 1 };
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(tp|ep)=(\d+)$/.exec(part);
    if (!m || Number(m[2]) < 1) throw new MeshError(`mesh "${text}": "${part}" is not tp=N or ep=N with N ≥ 1`);
    mesh[m[1] as 'tp' | 'ep'] = Number(m[2]);
  }
  return Object.freeze(mesh);
}

/** Every size a mesh axis splits must divide evenly; the first that does not is reported. */
export function validateMesh(config: ModelConfig, mesh: Mesh): void {
  const splits: [number, string, number, 'tp' | 'ep'][] = [
    [mesh.tp, 'num_attention_heads', config.numHeads, 'tp'],
    [mesh.tp, 'intermediate_size', config.intermediateSize, 'tp'],
    [mesh.tp, 'vocab_size', config.vocabSize, 'tp'],
  ];
  if (config.nRoutedExperts > 0) {
    splits.push([mesh.tp, 'moe_intermediate_size', config.moeIntermediateSize, 'tp']);
    splits.push([mesh.ep, 'n_routed_experts', config.nRoutedExperts, 'ep']);
  } else if (mesh.ep > 1) {
    throw new MeshError(`mesh ep=${mesh.ep}: ${config.source} has no routed experts (n_routed_experts 0); use ep=1`);
  }
  for (const [n, field, size, axis] of splits) {
    if (size % n !== 0) {
      throw new MeshError(`mesh ${axis}=${n} does not divide ${field} (${size}) of ${config.source}; expected a divisor of ${size}`);
    }
  }
}
