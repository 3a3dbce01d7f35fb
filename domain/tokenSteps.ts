import type {
  AccountConfig,
  FasRefreshRequest,
  FasRefreshResult,
  FasTokenRequest,
  FingerprintSensitivity,
  FingerprintSignals,
  IssuedToken,
} from './contracts';

/**
 * The steps an issuance or a refresh is made of. The workflows pass local-activity proxies; the benchmark's
 * direct path passes the activity functions themselves; both run the same decisions (`createWebchatToken`,
 * `refreshWebchatToken`) over them, so the two cannot drift.
 */
export interface TokenSteps {
  /** Account SID behind a live deployment key, or null when the key is unknown or revoked. */
  resolveAccount(deploymentKey: string): Promise<string | null>;
  /**
   * The configuration and a flag of the account behind a live deployment key (null, false for an unknown or
   * revoked one): keyed by the deployment key like `resolveAccount`, so that a run reads all three side by side.
   */
  fetchAccountConfig(deploymentKey: string): Promise<AccountConfig | null>;
  readFeatureFlag(deploymentKey: string, flag: string): Promise<boolean>;
  /** Fails with the `FINGERPRINT_FAILURE` application failure when a signal the level needs is unusable. */
  generateFingerprint(
    signals: FingerprintSignals,
    level: FingerprintSensitivity,
  ): Promise<{ fingerprint: string; level: FingerprintSensitivity }>;
  requestToken(accountSid: string, request: FasTokenRequest, requestId: string): Promise<IssuedToken>;
  refreshToken(accountSid: string, request: FasRefreshRequest, requestId: string): Promise<FasRefreshResult>;
}

/**
 * What a run reports as it goes: the workflows record it in search attributes and the UI's details line. A
 * workflow makes one per run (`finished` writes what `accountLoaded` was told).
 */
export interface RunObserver {
  accountLoaded(accountSid: string, security: boolean): void;
  finished(outcome: string, reason: string | null, details: string): void;
  /**
   * Whether a change to the decisions (e.g. `ORIGIN_CHECK`) applies to this run: always, in-process; in a
   * workflow, `patched(change)`, so that runs recorded before the change replay as they ran.
   */
  applies(change: string): boolean;
}

/** An observer for runs nobody watches (the direct path): every change applies. */
export const unobserved: RunObserver = { accountLoaded: () => {}, finished: () => {}, applies: () => true };
