import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { INDEX_FILE } from '../../compiler/checkpoint/checkpoint-index.ts';
import { editEntry, headerOf, rewriteHeader } from '../checkpoint/helpers.ts';

/** The shard file (full path) that holds `tensor`, per the index. */
export function shardOf(dir: string, tensor: string): string {
  const index = JSON.parse(readFileSync(join(dir, INDEX_FILE), 'utf8')) as { weight_map: Record<string, string> };
  const shard = index.weight_map[tensor];
  if (!shard) throw new Error(`test setup: ${tensor} is not in the index`);
  return join(dir, shard);
}

/** Renames a tensor in its shard and in the index: the folder stays a valid checkpoint without `tensor`. */
export function renameTensor(dir: string, tensor: string, to: string): void {
  const file = shardOf(dir, tensor);
  rewriteHeader(file, (text) => {
    const json = JSON.parse(text) as Record<string, unknown>;
    return JSON.stringify(Object.fromEntries(Object.entries(json).map(([k, v]) => [k === tensor ? to : k, v])));
  });
  const indexFile = join(dir, INDEX_FILE);
  const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { weight_map: Record<string, string> };
  index.weight_map = Object.fromEntries(Object.entries(index.weight_map).map(([k, v]) => [k === tensor ? to : k, v]));
  writeFileSync(indexFile, JSON.stringify(index));
}

/** Edits one header entry (dtype or shape); keep the byte size the same so the shard stays valid. */
export function editTensor(dir: string, tensor: string, edit: (entry: Record<string, unknown>) => void): string {
  const file = shardOf(dir, tensor);
  rewriteHeader(file, (text) => editEntry(text, tensor, edit));
  return file;
}

/** The tensor whose data ends the shard. */
export function lastTensorOf(file: string): string {
  const json = JSON.parse(headerOf(file).text) as Record<string, { data_offsets?: [number, number] }>;
  return Object.entries(json)
    .filter(([k]) => k !== '__metadata__')
    .sort((a, b) => b[1].data_offsets![1] - a[1].data_offsets![1])[0][0];
}
