import { createHash } from 'node:crypto';
import type { ModelConfig } from './model-config.ts';

/**
 * sha256 of what a config means (the parsed fields, not the file's bytes or path): a package
 * records it, and loading a checkpoint whose config.json means something else is an error.
 */
export function configFingerprint(config: ModelConfig): string {
  const { source: _source, ...meaning } = config;
  return createHash('sha256').update(JSON.stringify(meaning)).digest('hex');
}
