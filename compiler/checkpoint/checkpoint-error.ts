/**
 * A checkpoint file that is malformed or does not match its config. The message names the file,
 * the tensor when there is one, what was found and what was expected; `userFacing` makes the CLI
 * print it without a stack trace.
 */
export class CheckpointError extends Error {
  readonly userFacing = true;
  readonly file: string;
  readonly tensor: string | undefined;
  readonly problem: string;
  readonly expected: string | undefined;

  constructor(at: { file: string; tensor?: string; problem: string; expected?: string }) {
    const where = at.tensor === undefined ? at.file : `${at.file}: tensor ${JSON.stringify(at.tensor)}`;
    super(`${where}: ${at.problem}${at.expected === undefined ? '' : `; expected ${at.expected}`}`);
    this.name = 'CheckpointError';
    this.file = at.file;
    this.tensor = at.tensor;
    this.problem = at.problem;
    this.expected = at.expected;
  }
}
