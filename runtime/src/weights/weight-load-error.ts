/**
 * Why weights could not be loaded: checkpoint tensors missing or of the wrong dtype or shape for
 * the manifest, a recipe that does not fit its sources, a conversion the loader cannot make, or a
 * read that failed mid-load. Every problem names the tensor and the shard file it is in (or says
 * it is in none); `userFacing` makes the CLI print the message without a stack trace.
 */
export interface WeightProblem {
  /** The checkpoint tensor, or the manifest weight when the problem is the weight's own. */
  readonly tensor: string;
  /** The shard holding the tensor (full path); null when no shard holds it. */
  readonly file: string | null;
  readonly problem: string;
  readonly expected?: string;
  readonly found?: string;
}

/** Problems listed in the message; all of them are in `problems`. */
export const MESSAGE_PROBLEM_LIMIT = 100;

export class WeightLoadError extends Error {
  readonly userFacing = true;
  readonly problems: readonly WeightProblem[];

  constructor(summary: string, problems: readonly WeightProblem[], options?: { cause?: unknown }) {
    const shown = problems.slice(0, MESSAGE_PROBLEM_LIMIT).map((p) => `  - ${formatProblem(p)}`);
    const more = problems.length - shown.length;
    if (more > 0) shown.push(`  … and ${more} more (the error's \`problems\` lists all ${problems.length})`);
    super(problems.length === 1 ? `${summary}: ${formatProblem(problems[0])}` : `${summary} (${problems.length} problems):\n${shown.join('\n')}`, options);
    this.name = 'WeightLoadError';
    this.problems = problems;
  }
}

export function formatProblem(p: WeightProblem): string {
  const where = p.file === null ? '' : ` in ${p.file}`;
  const found = p.found === undefined ? '' : `: found ${p.found}`;
  const expected = p.expected === undefined ? '' : `; expected ${p.expected}`;
  return `tensor ${JSON.stringify(p.tensor)}${where} ${p.problem}${found}${expected}`;
}
