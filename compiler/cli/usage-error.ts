/** A command-line argument that is malformed or out of range; printed without a stack trace. */
export class UsageError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
