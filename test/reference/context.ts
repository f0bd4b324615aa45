import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { ropeTable, softmaxScale, type RopeTable } from './rope.ts';
import type { RefWeights } from './weights.ts';

export type ActQuant = 'none' | 'fp8';

/** What every step of one reference call needs; built once per call. */
export interface RefContext {
  readonly config: ModelConfig;
  readonly w: RefWeights;
  readonly actQuant: ActQuant;
  readonly rope: RopeTable;
  readonly softmaxScale: number;
}

export function makeContext(config: ModelConfig, w: RefWeights, actQuant: ActQuant): RefContext {
  return { config, w, actQuant, rope: ropeTable(config), softmaxScale: softmaxScale(config) };
}
