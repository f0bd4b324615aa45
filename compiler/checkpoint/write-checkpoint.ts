import { writeFolderAtomically, type OutputFile } from './atomic-write.ts';
import { tensorByteSize } from './dtypes.ts';
import { INDEX_FILE } from './checkpoint-index.ts';
import { SINGLE_FILE } from './checkpoint.ts';
import { writeSafetensors, type TensorSpec } from './safetensors-writer.ts';

export interface Shard {
  readonly file: string;
  readonly tensors: readonly TensorSpec[];
}

/** Real shard names: model-00001-of-00003.safetensors; one shard is a plain model.safetensors (no index). */
export function shardFileName(i: number, count: number): string {
  if (count === 1) return SINGLE_FILE;
  const pad = (n: number) => String(n).padStart(5, '0');
  return `model-${pad(i + 1)}-of-${pad(count)}.safetensors`;
}

/**
 * Splits tensors, in order, into `count` contiguous non-empty shards of roughly equal bytes:
 * a shard closes once it reaches its share, or when the tensors left are just enough for the
 * shards left.
 */
export function planShards(tensors: readonly TensorSpec[], count: number): Shard[] {
  if (!Number.isSafeInteger(count) || count < 1 || count > tensors.length) {
    throw new RangeError(`planShards: cannot split ${tensors.length} tensors into ${count} non-empty shards`);
  }
  const sizes = tensors.map((t) => Number(tensorByteSize(t.dtype, t.shape)));
  const total = sizes.reduce((a, b) => a + b, 0);
  const groups: TensorSpec[][] = [[]];
  let done = 0;
  tensors.forEach((t, i) => {
    const current = groups[groups.length - 1];
    const shardsAfter = count - groups.length; // shards still to open after the current one
    const mustMove = current.length > 0 && tensors.length - i === shardsAfter; // each needs a tensor
    const shareDone = current.length > 0 && shardsAfter > 0 && done >= (total * groups.length) / count;
    if (mustMove || shareDone) groups.push([]);
    groups[groups.length - 1].push(t);
    done += sizes[i];
  });
  return groups.map((g, i) => ({ file: shardFileName(i, count), tensors: g }));
}

/** model.safetensors.index.json: total_size is the sum of the tensors' byte sizes, as Hugging Face writes it. */
export function indexJson(shards: readonly Shard[]): string {
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (const s of shards) {
    for (const t of s.tensors) {
      weightMap[t.name] = s.file;
      total += Number(tensorByteSize(t.dtype, t.shape));
    }
  }
  return JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n';
}

export interface WriteCheckpointOptions {
  /** Other files of the folder (config.json, tokenizer files), written atomically with the shards. */
  readonly extraFiles?: readonly { readonly name: string; readonly content: string | Uint8Array }[];
  readonly onProgress?: (file: string, done: number, total: number) => void;
}

/** Writes the shards (and the index when there are several) into a new folder, all or nothing. */
export async function writeCheckpoint(
  dir: string,
  shards: readonly Shard[],
  produce: (spec: TensorSpec) => Uint8Array | Promise<Uint8Array>,
  opts: WriteCheckpointOptions = {},
): Promise<void> {
  const files: OutputFile[] = shards.map((s) => ({
    name: s.file,
    write: (h) => writeSafetensors(h, s.tensors, produce, { metadata: { format: 'pt' }, onProgress: (d, t) => opts.onProgress?.(s.file, d, t) }),
  }));
  const extra = [...(opts.extraFiles ?? [])];
  if (shards.length > 1) extra.push({ name: INDEX_FILE, content: indexJson(shards) });
  for (const f of extra) files.push({ name: f.name, write: async (h) => void (await h.writeFile(f.content)) });
  await writeFolderAtomically(dir, files);
}
