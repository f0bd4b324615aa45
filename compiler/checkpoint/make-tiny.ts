import type { ModelConfig } from '../config/model-config.ts';
import { checkpointTensors } from '../model/checkpoint-tensors.ts';
import { TinyWeights } from './tiny-weights.ts';
import { tinyTokenizerFiles } from './tiny-tokenizer.ts';
import { planShards, writeCheckpoint } from './write-checkpoint.ts';

export interface MakeTinyOptions {
  readonly seed: number;
  readonly shards: number;
  /** The exact text of the config file, copied as config.json. */
  readonly configText: string;
  readonly onProgress?: (file: string, done: number, total: number) => void;
}

/**
 * Writes a random checkpoint of `config` in the real DeepSeek-V3 layout: every tensor
 * checkpointTensors lists, FP8 linears with block scales when the config is quantized, split
 * over `shards` files with an index, plus config.json and a tiny byte-level BPE tokenizer.
 * Same config and seed → the same bytes.
 */
export async function makeTinyCheckpoint(config: ModelConfig, outDir: string, opts: MakeTinyOptions): Promise<void> {
  const tensors = checkpointTensors(config);
  const weights = new TinyWeights(config, opts.seed, tensors);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const { tokenizer, tokenizerConfig } = tinyTokenizerFiles(config);
  await writeCheckpoint(outDir, planShards(tensors, opts.shards), (spec) => weights.bytes(byName.get(spec.name)!), {
    extraFiles: [
      { name: 'config.json', content: opts.configText },
      { name: 'tokenizer.json', content: tokenizer },
      { name: 'tokenizer_config.json', content: tokenizerConfig },
    ],
    onProgress: opts.onProgress,
  });
}
