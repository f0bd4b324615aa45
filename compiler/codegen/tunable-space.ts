import type { Constants, KernelFamily, TargetClass, Tunables } from './kernel-family.ts';
import { problems } from './kernel-family.ts';

/** More candidates than this for one instance are cut (the defaults' neighbourhood is kept first). */
export const MAX_CANDIDATES = 64;

/**
 * The tunable settings an autotuner may try for one instance: every combination of its family's
 * tunable spaces on the target that meets the family's constraints for these constants, the
 * defaults first. Larger spaces are cut to MAX_CANDIDATES, keeping the combinations that differ
 * from the defaults in the fewest tunables.
 */
export function tunableCandidates(family: KernelFamily, constants: Constants, target: TargetClass, warpSize: number): Tunables[] {
  const specs = Object.entries(family.tunables[target]);
  let all: Record<string, number>[] = [{}];
  for (const [k, spec] of specs) all = all.flatMap((t) => spec.space.map((v) => ({ ...t, [k]: v })));
  const changed = (t: Record<string, number>) => specs.filter(([k, spec]) => t[k] !== spec.default).length;
  return all
    .filter((t) => problems(family, constants, t as Tunables, target, warpSize).length === 0)
    .sort((a, b) => changed(a) - changed(b))
    .slice(0, MAX_CANDIDATES) as Tunables[];
}
