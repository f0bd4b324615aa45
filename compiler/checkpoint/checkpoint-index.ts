import { CheckpointError } from './checkpoint-error.ts';
import { findDuplicateKey } from './json-duplicates.ts';

export const INDEX_FILE = 'model.safetensors.index.json';

/** model.safetensors.index.json: which shard holds each tensor, and the total tensor bytes. */
export interface CheckpointIndex {
  /** Tensor name → shard file name, in the index's order. */
  readonly weightMap: ReadonlyMap<string, string>;
  /** metadata.total_size: the sum of all tensors' byte sizes; null when the index omits it. */
  readonly totalSize: number | null;
  /** Distinct shard names in first-seen order. */
  readonly shards: readonly string[];
  /** Tensors whose entry was rejected (a problem says why); left out of weightMap. */
  readonly rejected: ReadonlySet<string>;
}

/**
 * Parses and validates the index text: a JSON object without repeated keys, weight_map a
 * tensor→shard map of plain file names, metadata.total_size a byte count. Problems are collected;
 * the returned index holds the entries that are usable.
 */
export function parseIndex(file: string, text: string): { index: CheckpointIndex; problems: CheckpointError[] } {
  const problems: CheckpointError[] = [];
  const empty: CheckpointIndex = { weightMap: new Map(), totalSize: null, shards: [], rejected: new Set() };
  const bad = (problem: string, expected: string, tensor?: string) => problems.push(new CheckpointError({ file, tensor, problem, expected }));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    bad(`is not valid JSON (${(e as Error).message})`, 'a JSON object {metadata, weight_map}');
    return { index: empty, problems };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    bad('is not a JSON object', 'a JSON object {metadata, weight_map}');
    return { index: empty, problems };
  }
  const dup = findDuplicateKey(text);
  if (dup) {
    const inMap = dup.path.length === 1 && dup.path[0] === 'weight_map';
    bad(inMap ? 'appears twice in weight_map' : `key ${JSON.stringify([...dup.path, dup.key].join('.'))} appears twice`, 'each key once', inMap ? dup.key : undefined);
  }
  const { weight_map: rawMap, metadata } = json as Record<string, unknown>;
  let totalSize: number | null = null;
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) bad(`metadata is ${JSON.stringify(metadata)}`, 'an object');
    else {
      const t = (metadata as Record<string, unknown>).total_size;
      if (t !== undefined && !(Number.isSafeInteger(t) && (t as number) >= 0)) bad(`metadata.total_size is ${JSON.stringify(t)}`, 'a non-negative integer byte count');
      else if (t !== undefined) totalSize = t as number;
    }
  }
  if (typeof rawMap !== 'object' || rawMap === null || Array.isArray(rawMap)) {
    bad(`weight_map is ${JSON.stringify(rawMap) ?? 'missing'}`, 'an object mapping tensor names to shard file names');
    return { index: { ...empty, totalSize }, problems };
  }
  const weightMap = new Map<string, string>();
  const rejected = new Set<string>();
  for (const [tensor, shard] of Object.entries(rawMap)) {
    const why = typeof shard === 'string' ? unsafeShardName(shard) : 'is not a string';
    if (why) {
      bad(`maps to shard ${JSON.stringify(shard)}, which ${why}`, 'a plain file name in the checkpoint folder', tensor);
      rejected.add(tensor);
    } else weightMap.set(tensor, shard as string);
  }
  return { index: { weightMap, totalSize, shards: [...new Set(weightMap.values())], rejected }, problems };
}

/** Why `name` is not a plain file name inside the folder, or null if it is. */
export function unsafeShardName(name: string): string | null {
  if (name === '') return 'is empty';
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('\0')) return 'contains a NUL byte';
  if (name === '.' || /^[A-Za-z]:/.test(name)) return 'is not a file name';
  return null;
}
