import { join } from 'node:path';
import { loadConfig } from '../config/parse-config.ts';
import { ConfigError } from '../config/config-error.ts';
import type { ModelConfig } from '../config/model-config.ts';
import { checkpointTensors, type CheckpointTensor } from '../model/checkpoint-tensors.ts';
import { CheckpointError } from './checkpoint-error.ts';
import { scanCheckpoint, SINGLE_FILE, type CheckpointScan } from './checkpoint.ts';

export interface DTypeTotal {
  readonly tensors: number;
  readonly bytes: number;
}

export interface CheckReport {
  readonly scan: CheckpointScan;
  /** The folder's config.json, or null when it could not be loaded (a problem says why). */
  readonly config: ModelConfig | null;
  readonly expectedTensors: number;
  readonly tensorBytes: number; // sum of the tensors' data bytes
  readonly fileBytes: number; // sum of the shard file sizes
  readonly dtypes: ReadonlyMap<string, DTypeTotal>;
  /** Format problems first, then those against the config; empty when the folder is a valid checkpoint of its config. */
  readonly problems: readonly CheckpointError[];
}

/**
 * Validates a checkpoint folder against its config.json: the format (every header, the index)
 * and then every tensor checkpointTensors(config) expects, with its dtype and shape, and nothing
 * else. Collects every problem; throws only for bugs.
 */
export async function checkCheckpoint(dir: string): Promise<CheckReport> {
  const scan = await scanCheckpoint(dir);
  const problems = [...scan.problems];
  const configFile = join(dir, 'config.json');
  let config: ModelConfig | null = null;
  try {
    config = loadConfig(configFile);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const problem = e.field === '(file)' ? 'cannot be used' : `field "${e.field}" is ${e.value === undefined ? 'missing' : JSON.stringify(e.value)}`;
    problems.push(new CheckpointError({ file: e.file, problem, expected: e.expected }));
  }
  const expected = config ? checkpointTensors(config) : [];
  if (config) problems.push(...compareWithConfig(scan, expected));

  const dtypes = new Map<string, DTypeTotal>();
  let tensorBytes = 0;
  for (const { info } of scan.present.values()) {
    if (!info) continue;
    tensorBytes += info.byteSize;
    const t = dtypes.get(info.dtype) ?? { tensors: 0, bytes: 0 };
    dtypes.set(info.dtype, { tensors: t.tensors + 1, bytes: t.bytes + info.byteSize });
  }
  return {
    scan,
    config,
    expectedTensors: expected.length,
    tensorBytes,
    fileBytes: scan.shards.reduce((a, s) => a + s.size, 0),
    dtypes,
    problems,
  };
}

/** Missing, mistyped, misshapen and unexpected tensors. */
function compareWithConfig(scan: CheckpointScan, expected: readonly CheckpointTensor[]): CheckpointError[] {
  const problems: CheckpointError[] = [];
  const listing = scan.indexFile ?? join(scan.dir, SINGLE_FILE);
  const byName = new Map(expected.map((t) => [t.name, t]));
  for (const t of expected) {
    if (scan.unknown.has(t.name)) continue; // its shard is unreadable: already reported
    const place = scan.present.get(t.name);
    if (!place) {
      problems.push(new CheckpointError({ file: listing, tensor: t.name, problem: 'is missing', expected: `${t.dtype} ${fmt(t.shape)}` }));
      continue;
    }
    const info = place.info;
    if (!info) continue; // malformed entry: already reported
    if (info.dtype !== t.dtype) {
      problems.push(new CheckpointError({ file: place.file, tensor: t.name, problem: `has dtype ${info.dtype}`, expected: t.dtype }));
    }
    if (fmt(info.shape) !== fmt(t.shape)) {
      problems.push(new CheckpointError({ file: place.file, tensor: t.name, problem: `has shape ${fmt(info.shape)}`, expected: expectedShape(t, byName) }));
    }
  }
  for (const [name, place] of scan.present) {
    if (!byName.has(name)) {
      problems.push(new CheckpointError({ file: place.file, tensor: name, problem: 'is not a tensor of this config', expected: `only the ${expected.length} tensors config.json implies` }));
    }
  }
  return problems;
}

/** A scale's expected shape is explained by its weight: one F32 per 128×128 block, edge blocks included. */
function expectedShape(t: CheckpointTensor, byName: Map<string, CheckpointTensor>): string {
  if (!t.scaleOf) return fmt(t.shape);
  const w = byName.get(t.scaleOf)!;
  return `${fmt(t.shape)}: one scale per block of ${t.scaleOf} ${fmt(w.shape)} (ceil(out/block_n), ceil(in/block_k))`;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
