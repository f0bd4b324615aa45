/** `--target` and `--arch` to a dialect record, with the defaults and the errors users see. */
import type { Dialect, TargetKind } from '../codegen/dialect.ts';
import { CPU_DIALECT, cudaDialect, hipDialect } from '../codegen/dialect.ts';
import { UsageError } from '../cli/usage-error.ts';

export const TARGET_ARCHS: Readonly<Record<TargetKind, readonly string[]>> = {
  cuda: ['sm_90a', 'sm_80'],
  hip: ['gfx90a', 'gfx940'],
  cpu: ['host'],
};

/** Throws a message naming the option when the pair is unknown; the first arch is the default. */
export function dialectFor(target: string, arch?: string): Dialect {
  if (!(target in TARGET_ARCHS)) throw new UsageError(`--target ${target}: expected one of ${Object.keys(TARGET_ARCHS).join(', ')}`);
  const archs = TARGET_ARCHS[target as TargetKind];
  const a = arch ?? archs[0];
  if (!archs.includes(a)) throw new UsageError(`--arch ${a} is not an architecture of --target ${target}: expected one of ${archs.join(', ')}`);
  if (target === 'cuda') return cudaDialect(a as 'sm_90a' | 'sm_80');
  if (target === 'hip') return hipDialect(a as 'gfx90a' | 'gfx940');
  return CPU_DIALECT;
}
