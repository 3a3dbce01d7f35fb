/**
 * Errors the account store throws on purpose. Callers (the admin CLI, activities) switch on `code`, never on
 * the message. Database faults (connection lost, disk full) are not wrapped: they stay transient errors.
 */
export const storeErrorCodes = [
  'invalid_input',
  'account_not_found',
  'account_exists',
  'deployment_key_not_found',
  'deployment_key_exists',
  'unsupported',
] as const;

export type StoreErrorCode = (typeof storeErrorCodes)[number];

/** One rejected input field, e.g. `{path: 'tokenTtlSeconds', message: 'Too big: ...'}`. */
export interface StoreIssue {
  path: string;
  message: string;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly issues: readonly StoreIssue[] = [],
  ) {
    super(message);
  }
}
