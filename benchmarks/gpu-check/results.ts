/**
 * One JSON file per gpu-check run: device, date, commit and each check's figures, rewritten after
 * every check (through a temp file and a rename), so a run cut short still leaves what it measured.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type CheckStatus = 'passed' | 'failed' | 'skipped' | 'error' | 'measured';

export interface CheckResult {
  status: CheckStatus;
  seconds?: number;
  reason?: string;
  [figure: string]: unknown;
}

export class Results {
  readonly file: string;
  readonly doc: { format: string; checks: Record<string, CheckResult>; [k: string]: unknown };

  constructor(outDir: string, name: string, header: Record<string, unknown>) {
    mkdirSync(outDir, { recursive: true });
    this.file = join(outDir, name);
    this.doc = { ...header, format: String(header.format), checks: {} };
    this.save();
  }

  set(id: string, result: CheckResult): void {
    this.doc.checks[id] = result;
    this.save();
  }

  save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.doc, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1)}\n`);
    renameSync(tmp, this.file);
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
