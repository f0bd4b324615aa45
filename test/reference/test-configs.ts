import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';

/** Configs of the repository's configs/ folder, for the reference's tests. */
const dir = fileURLToPath(new URL('../../configs/', import.meta.url));

export function repoConfig(file: string): ModelConfig {
  return loadConfig(dir + file);
}

export const TINY_CONFIGS: readonly string[] = readdirSync(dir)
  .filter((f) => f.startsWith('tiny-') && f.endsWith('.json'))
  .sort();

/** max |a − b| / max |b|: one number for "these logits agree". */
export function relMaxError(a: readonly number[], b: readonly number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}
