import { CheckpointError } from './checkpoint-error.ts';
import { isSafetensorsDType, SAFETENSORS_DTYPE_BYTES, tensorByteSize, type SafetensorsDType } from './dtypes.ts';
import { findDuplicateKey } from './json-duplicates.ts';

/** The reference implementation's cap on the JSON header, in bytes. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** [begin, end) relative to the data section, as the header states them. */
  readonly dataOffsets: readonly [number, number];
  readonly byteSize: number;
  /** Absolute file position of the first byte: 8 + header length + begin. */
  readonly position: number;
}

export interface ParsedHeader {
  /** Every key of the header except `__metadata__`, valid or not. */
  readonly declared: readonly string[];
  /** Entries whose dtype, shape and offsets are each well formed and agree with each other. */
  readonly tensors: readonly TensorInfo[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Empty when the file is a valid safetensors file. */
  readonly problems: readonly CheckpointError[];
}

/**
 * Validates a header as the reference implementation does: UTF-8 JSON object, no repeated keys,
 * known dtypes, string→string `__metadata__`, element count × dtype size == byte range, offsets
 * contiguous from 0 with no holes or overlaps, and data ending exactly at the end of the file.
 * Collects every problem it can name instead of stopping at the first.
 */
export function parseHeader(file: string, header: Uint8Array, fileSize: number): ParsedHeader {
  const problems: CheckpointError[] = [];
  const fail = (problem: string, expected?: string, tensor?: string): ParsedHeader => {
    problems.push(new CheckpointError({ file, tensor, problem, expected }));
    return { declared: [], tensors: [], metadata: {}, problems };
  };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(header);
  } catch {
    return fail('header is not valid UTF-8', 'a UTF-8 JSON object');
  }
  if (!text.startsWith('{')) return fail(`header starts with ${JSON.stringify(text.slice(0, 8))}`, 'a JSON object starting with "{"');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`, 'a JSON object');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('header is not a JSON object', 'a JSON object');
  const dup = findDuplicateKey(text);
  if (dup) {
    const tensor = dup.path.length === 0 ? dup.key : dup.path[0];
    const what = dup.path.length === 0 ? 'appears twice in the header' : `has field ${JSON.stringify(dup.key)} twice`;
    return fail(what, 'each key once', tensor);
  }

  const entries = json as Record<string, unknown>;
  const metadata = parseMetadata(entries.__metadata__, (p, e) => problems.push(new CheckpointError({ file, tensor: '__metadata__', problem: p, expected: e })));
  const declared = Object.keys(entries).filter((k) => k !== '__metadata__');
  const dataStart = 8 + header.length;
  const tensors: TensorInfo[] = [];
  const placed: { name: string; begin: number; end: number }[] = [];
  for (const name of declared) {
    const bad = (problem: string, expected: string) => problems.push(new CheckpointError({ file, tensor: name, problem, expected }));
    const info = entries[name];
    if (typeof info !== 'object' || info === null || Array.isArray(info)) {
      bad(`is ${describe(info)}`, 'an object {dtype, shape, data_offsets}');
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    const offsetsOk = Array.isArray(offsets) && offsets.length === 2 && offsets.every(isCount) && offsets[0] <= offsets[1];
    if (!offsetsOk) bad(`data_offsets is ${describe(offsets)}`, 'two integers [begin, end] with 0 ≤ begin ≤ end < 2^53');
    else placed.push({ name, begin: offsets[0], end: offsets[1] });
    const dtypeOk = isSafetensorsDType(dtype);
    if (!dtypeOk) bad(`dtype is ${describe(dtype)}`, `one of ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(' ')}`);
    const shapeOk = Array.isArray(shape) && shape.every(isCount);
    if (!shapeOk) bad(`shape is ${describe(shape)}`, 'an array of non-negative integers below 2^53');
    if (!(offsetsOk && dtypeOk && shapeOk)) continue;
    const [begin, end] = offsets as [number, number];
    const bytes = tensorByteSize(dtype, shape as number[]);
    if (bytes !== BigInt(end - begin)) {
      bad(`data_offsets [${begin}, ${end}] span ${end - begin} bytes`, `${bytes} bytes (${dtype} × shape [${(shape as number[]).join(', ')}])`);
      continue;
    }
    tensors.push({ name, dtype, shape: Object.freeze([...(shape as number[])]), dataOffsets: [begin, end], byteSize: end - begin, position: dataStart + begin });
  }
  checkLayout(file, placed, fileSize - dataStart, problems);
  return { declared, tensors, metadata, problems };
}

/** Offsets must tile [0, data size) exactly: sorted by begin, each starts where the last ended. */
function checkLayout(file: string, placed: { name: string; begin: number; end: number }[], dataSize: number, problems: CheckpointError[]): void {
  placed.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: { name: string; end: number } | null = null;
  let end = 0;
  for (const t of placed) {
    if (t.begin < end) {
      problems.push(new CheckpointError({
        file, tensor: t.name,
        problem: `data_offsets [${t.begin}, ${t.end}] overlap tensor ${JSON.stringify(prev!.name)} (which ends at ${end})`,
        expected: `begin = ${end}`,
      }));
    } else if (t.begin > end) {
      problems.push(new CheckpointError({
        file, tensor: t.name,
        problem: `data_offsets [${t.begin}, ${t.end}] leave a hole: bytes ${end}..${t.begin} of the data section belong to no tensor`,
        expected: `begin = ${end}`,
      }));
    }
    if (t.end > dataSize) {
      problems.push(new CheckpointError({
        file, tensor: t.name,
        problem: `data ends at data offset ${t.end}, past the end of the file (the data section holds ${Math.max(0, dataSize)} bytes; truncated?)`,
        expected: `end ≤ ${Math.max(0, dataSize)}`,
      }));
    }
    if (t.end >= end) {
      end = t.end;
      prev = t;
    }
  }
  if (end < dataSize) {
    problems.push(new CheckpointError({
      file,
      problem: `${dataSize - end} bytes follow the last tensor's data (data section ends at ${end}, the file has ${dataSize} data bytes)`,
      expected: 'the data section to end exactly at the end of the file',
    }));
  }
}

function parseMetadata(raw: unknown, bad: (problem: string, expected: string) => void): Record<string, string> {
  if (raw === undefined || raw === null) return {}; // the reference reads it as an optional map
  const expected = 'an object of string values';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    bad(`is ${describe(raw)}`, expected);
    return {};
  }
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') bad(`field ${JSON.stringify(k)} is ${describe(v)}`, expected);
    else out[k] = v;
  }
  return out;
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return 'missing';
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
