/** Checkpoint corruptions and helpers for the `dsv3c run` tests. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { INDEX_FILE } from '../../compiler/checkpoint/checkpoint-index.ts';
import { SafetensorsFile } from '../../compiler/checkpoint/safetensors-file.ts';
import { serializeSafetensors } from '../../compiler/checkpoint/safetensors-writer.ts';

export interface LogitsDump {
  readonly prompt_ids: number[];
  readonly prompt_logits: number[][];
  readonly generated_ids: number[];
  readonly generated_logits: number[][];
}

export function readDump(file: string): LogitsDump {
  return JSON.parse(readFileSync(file, 'utf8')) as LogitsDump;
}

/** The index of the largest value (the lowest on ties), as greedy decoding picks. */
export function argmax(row: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * Rewrites the shard holding `tensor` without it (through the checkpoint writer) and drops it from
 * the index: a valid checkpoint that simply lacks the tensor. Returns the shard's path.
 */
export async function deleteTensor(dir: string, tensor: string): Promise<string> {
  const indexFile = join(dir, INDEX_FILE);
  const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
  const shard = index.weight_map[tensor];
  if (!shard) throw new Error(`test setup: ${tensor} is not in the index`);
  const file = join(dir, shard);
  const st = await SafetensorsFile.openPath(file);
  let removed = 0;
  const kept = [];
  try {
    for (const t of st.tensors) {
      if (t.name === tensor) removed = t.byteSize;
      else kept.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await st.readTensor(t.name) });
    }
  } finally {
    await st.close();
  }
  writeFileSync(file, serializeSafetensors(kept, Object.keys(st.metadata).length > 0 ? st.metadata : undefined));
  delete index.weight_map[tensor];
  index.metadata.total_size -= removed;
  writeFileSync(indexFile, JSON.stringify(index, null, 2));
  return file;
}
