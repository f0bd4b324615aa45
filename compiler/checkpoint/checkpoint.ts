import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openFileSource, type ByteSource } from './byte-source.ts';
import { CheckpointError } from './checkpoint-error.ts';
import { INDEX_FILE, parseIndex, type CheckpointIndex } from './checkpoint-index.ts';
import { MAX_HEADER_BYTES, type ParsedHeader, type TensorInfo } from './safetensors-header.ts';
import { readHeader, SafetensorsFile } from './safetensors-file.ts';

export const SINGLE_FILE = 'model.safetensors';

/** Where a tensor lives: its shard's path and its validated entry (null when the entry itself is malformed). */
export interface TensorPlace {
  readonly file: string;
  readonly info: TensorInfo | null;
}

export interface ShardSummary {
  readonly file: string;
  readonly size: number;
  readonly tensors: number;
  readonly valid: boolean;
}

/** What a folder holds, as far as it could be read; `problems` lists everything wrong with its format. */
export interface CheckpointScan {
  readonly dir: string;
  /** Path of model.safetensors.index.json, or null for a single model.safetensors. */
  readonly indexFile: string | null;
  readonly index: CheckpointIndex | null;
  readonly shards: readonly ShardSummary[];
  /** Every tensor the shards declare; tensors of shards whose header could not be parsed are absent. */
  readonly present: ReadonlyMap<string, TensorPlace>;
  /** Tensors the index maps to a shard whose header could not be read: present or not, unknown. */
  readonly unknown: ReadonlySet<string>;
  readonly problems: readonly CheckpointError[];
}

/** A validated checkpoint folder, open for reads; see openCheckpoint. */
export class Checkpoint {
  private readonly places: ReadonlyMap<string, { shard: SafetensorsFile; info: TensorInfo }>;

  constructor(
    readonly dir: string,
    readonly shards: readonly SafetensorsFile[],
  ) {
    const places = new Map<string, { shard: SafetensorsFile; info: TensorInfo }>();
    for (const shard of shards) for (const info of shard.tensors) places.set(info.name, { shard, info });
    this.places = places;
  }

  /** Tensor names, shard by shard in file order. */
  names(): string[] {
    return [...this.places.keys()];
  }

  tensor(name: string): TensorInfo | undefined {
    return this.places.get(name)?.info;
  }

  readTensor(name: string): Promise<Uint8Array> {
    return this.shardOf(name).readTensor(name);
  }

  readRange(name: string, start: number, length: number): Promise<Uint8Array> {
    return this.shardOf(name).readRange(name, start, length);
  }

  chunks(name: string, chunkBytes?: number): AsyncGenerator<Uint8Array> {
    return this.shardOf(name).chunks(name, chunkBytes);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }

  private shardOf(name: string): SafetensorsFile {
    const p = this.places.get(name);
    if (!p) throw new CheckpointError({ file: this.dir, tensor: name, problem: 'is not in this checkpoint', expected: 'a tensor the checkpoint holds' });
    return p.shard;
  }
}

/** Opens a folder for reading; throws the first format problem (run `dsv3c check` to see them all). */
export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const { scan, sources } = await scanSources(dir);
  if (scan.problems.length > 0) {
    await Promise.all([...sources.values()].map((s) => s.source.close()));
    const first = scan.problems[0];
    const more = scan.problems.length - 1;
    throw more === 0 ? first : new CheckpointError({
      file: first.file, tensor: first.tensor,
      problem: `${first.problem}${first.expected ? `; expected ${first.expected}` : ''} (and ${more} more problems: run dsv3c check --model ${dir})`,
    });
  }
  return new Checkpoint(dir, [...sources.values()].map(({ source, header }) => new SafetensorsFile(source, header)));
}

/** Reads every header and the index and cross-checks them; never throws for a malformed folder. */
export async function scanCheckpoint(dir: string): Promise<CheckpointScan> {
  const { scan, sources } = await scanSources(dir);
  await Promise.all([...sources.values()].map((s) => s.source.close()));
  return scan;
}

async function scanSources(dir: string): Promise<{ scan: CheckpointScan; sources: Map<string, { source: ByteSource; header: ParsedHeader }> }> {
  const problems: CheckpointError[] = [];
  const indexFile = join(dir, INDEX_FILE);
  let index: CheckpointIndex | null = null;
  let shardNames: string[];
  if (existsSync(indexFile)) {
    const text = await readSmallText(indexFile, problems);
    const parsed = parseIndex(indexFile, text ?? '');
    index = parsed.index;
    if (text !== null) problems.push(...parsed.problems);
    shardNames = [...index.shards];
  } else if (existsSync(join(dir, SINGLE_FILE))) {
    shardNames = [SINGLE_FILE];
  } else {
    problems.push(new CheckpointError({ file: dir, problem: `holds neither ${INDEX_FILE} nor ${SINGLE_FILE}`, expected: 'a Hugging Face safetensors checkpoint folder' }));
    shardNames = [];
  }

  const sources = new Map<string, { source: ByteSource; header: ParsedHeader }>();
  const shards: ShardSummary[] = [];
  const present = new Map<string, TensorPlace>();
  const unreadable = new Set<string>();
  for (const name of shardNames) {
    const file = join(dir, name);
    let source: ByteSource;
    let header: ParsedHeader;
    try {
      source = await openFileSource(file);
      header = await readHeader(source);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      problems.push(e);
      unreadable.add(name);
      continue;
    }
    problems.push(...header.problems);
    shards.push({ file, size: source.size, tensors: header.declared.length, valid: header.problems.length === 0 });
    if (header.problems.length === 0) sources.set(name, { source, header });
    else await source.close();
    // A header that did not parse declares nothing: what it holds is unknown, not missing.
    if (header.declared.length === 0 && header.problems.length > 0) unreadable.add(name);
    const valid = new Map(header.tensors.map((t) => [t.name, t]));
    for (const tensor of header.declared) {
      const before = present.get(tensor);
      if (before) {
        problems.push(new CheckpointError({ file, tensor, problem: `is also in ${before.file}`, expected: 'each tensor in one shard' }));
        continue;
      }
      present.set(tensor, { file, info: valid.get(tensor) ?? null });
    }
  }

  const unknown = new Set<string>();
  if (index) crossCheckIndex(indexFile, index, present, unreadable, unknown, problems, dir);
  return { scan: { dir, indexFile: index ? indexFile : null, index, shards, present, unknown, problems }, sources };
}

/** The index and the shard headers must agree on every tensor, and total_size on their bytes. */
function crossCheckIndex(
  indexFile: string,
  index: CheckpointIndex,
  present: Map<string, TensorPlace>,
  unreadable: Set<string>,
  unknown: Set<string>,
  problems: CheckpointError[],
  dir: string,
): void {
  const unreadableCount = new Map<string, string[]>();
  for (const [tensor, shard] of index.weightMap) {
    if (unreadable.has(shard)) {
      unknown.add(tensor);
      unreadableCount.set(shard, [...(unreadableCount.get(shard) ?? []), tensor]);
      continue;
    }
    const place = present.get(tensor);
    const shardFile = join(dir, shard);
    if (!place) {
      problems.push(new CheckpointError({ file: indexFile, tensor, problem: `is mapped to ${shard}, which has no such tensor`, expected: `the tensor in ${shard}` }));
    } else if (place.file !== shardFile) {
      problems.push(new CheckpointError({ file: indexFile, tensor, problem: `is mapped to ${shard} but stored in ${place.file}`, expected: 'weight_map to name the shard that holds it' }));
    }
  }
  for (const [shard, tensors] of unreadableCount) {
    problems.push(new CheckpointError({
      file: indexFile, tensor: tensors[0],
      problem: `cannot be read: it is mapped to ${shard}, which cannot be read (nor the ${tensors.length - 1} other tensors mapped there)`,
      expected: `a valid ${shard}`,
    }));
  }
  for (const [tensor, place] of present) {
    if (!index.weightMap.has(tensor) && !index.rejected.has(tensor)) {
      problems.push(new CheckpointError({ file: place.file, tensor, problem: `is not listed in ${indexFile}`, expected: 'every stored tensor in weight_map' }));
    }
  }
  // With entries unknown or rejected the sum would mislead; those are reported already.
  if (index.totalSize === null || unknown.size > 0 || index.rejected.size > 0) return;
  let sum = 0;
  for (const tensor of index.weightMap.keys()) {
    const info = present.get(tensor)?.info;
    if (!info) return; // already reported; the sum would mislead
    sum += info.byteSize;
  }
  if (sum !== index.totalSize) {
    problems.push(new CheckpointError({
      file: indexFile,
      problem: `metadata.total_size is ${index.totalSize}`,
      expected: `${sum}, the sum of the byte sizes of the ${index.weightMap.size} tensors in weight_map`,
    }));
  }
}

/** The index's text, or null with a problem recorded; the same size cap as a header. */
async function readSmallText(path: string, problems: CheckpointError[]): Promise<string | null> {
  try {
    const { size } = await stat(path);
    if (size > MAX_HEADER_BYTES) {
      problems.push(new CheckpointError({ file: path, problem: `is ${size} bytes`, expected: `at most ${MAX_HEADER_BYTES} bytes` }));
      return null;
    }
    return await readFile(path, 'utf8');
  } catch (e) {
    problems.push(new CheckpointError({ file: path, problem: `cannot be read (${(e as Error).message})`, expected: 'a readable file' }));
    return null;
  }
}
