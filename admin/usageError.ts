/** A command line the CLI cannot run (unknown command or option, missing or malformed argument): exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'usage';
}
