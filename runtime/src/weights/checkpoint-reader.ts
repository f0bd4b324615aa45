import type { Checkpoint } from '../../../compiler/checkpoint/checkpoint.ts';

/**
 * What the loader needs of an open checkpoint: tensor entries, ranged reads and the shards (to
 * name the file a tensor is in). Never a whole-tensor read: the loader streams byte ranges.
 */
export type WeightCheckpoint = Pick<Checkpoint, 'dir' | 'shards' | 'tensor' | 'readRange'>;

/** Tensor name → full path of the shard that holds it. */
export function shardOfTensor(checkpoint: WeightCheckpoint): Map<string, string> {
  const files = new Map<string, string>();
  for (const shard of checkpoint.shards) for (const t of shard.tensors) files.set(t.name, shard.file);
  return files;
}
