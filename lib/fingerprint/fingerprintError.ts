/** Which signal (or which field of a JSON signal) made generation fail. */
export type FingerprintSignalName =
  | 'userAgent'
  | 'acceptLanguage'
  | 'clientIp'
  | 'userSettings'
  | 'userSettings.language'
  | 'userSettings.userTimezone'
  | 'userSettings.cookieEnabled'
  | 'decoders'
  | 'decoders.audio'
  | 'decoders.video';

export type FingerprintProblem = 'missing' | 'malformed';

/**
 * A signal the level needs is missing or malformed. `reason` (e.g. `userSettings.cookieEnabled missing`)
 * names the signal, never its value: signals are secrets, and the message may reach logs and the client.
 */
export class FingerprintError extends Error {
  override readonly name = 'FingerprintError';
  readonly code = 'fingerprint_generation_failed' as const;
  readonly reason: `${FingerprintSignalName} ${FingerprintProblem}`;

  constructor(
    readonly signal: FingerprintSignalName,
    readonly problem: FingerprintProblem,
  ) {
    const reason = `${signal} ${problem}` as const;
    super(`Fingerprint generation failed: ${reason}`);
    this.reason = reason;
  }
}
