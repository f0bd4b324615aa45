import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../../compiler/cli/commands/check.ts';
import { runMakeTiny } from '../../compiler/cli/commands/make-tiny.ts';

export const REPO = join(import.meta.dirname, '..', '..');

/** configs/tiny-*.json, the test configs (hidden sizes on and off the 128 grid). */
export const TINY_CONFIGS: readonly string[] = readdirSync(join(REPO, 'configs'))
  .filter((f) => f.startsWith('tiny-') && f.endsWith('.json'))
  .sort()
  .map((f) => join(REPO, 'configs', f));

/** A fresh temp folder and its cleanup. */
export function tempFolder(label: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `dsv3c-${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function makeTiny(config: string, out: string, opts: { seed?: number; shards?: number } = {}): Promise<void> {
  await runMakeTiny({ config, out, seed: String(opts.seed ?? 0), shards: String(opts.shards ?? 2) });
}

/** `dsv3c check` in-process: its exit status and everything it printed. */
export async function check(dir: string): Promise<{ status: number; output: string }> {
  let output = '';
  const status = await runCheck(dir, (s) => (output += s));
  return { status, output };
}

/** The JSON header text of a safetensors file and the byte where its data starts. */
export function headerOf(file: string): { text: string; dataStart: number } {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  return { text: bytes.subarray(8, 8 + n).toString('utf8'), dataStart: 8 + n };
}

/** Replaces a file's header (text as given, length prefix recomputed) and keeps its data bytes. */
export function rewriteHeader(file: string, edit: (text: string) => string): void {
  const bytes = readFileSync(file);
  const { text, dataStart } = headerOf(file);
  const header = Buffer.from(edit(text), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(file, Buffer.concat([prefix, header, bytes.subarray(dataStart)]));
}

/** Edits one tensor's entry in a header through JSON (key order kept). */
export function editEntry(text: string, tensor: string, edit: (entry: Record<string, unknown>) => void): string {
  const json = JSON.parse(text) as Record<string, Record<string, unknown>>;
  if (!json[tensor]) throw new Error(`test setup: ${tensor} is not in this header`);
  edit(json[tensor]);
  return JSON.stringify(json);
}
