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
 *
 * Each name is also the step's activity type: recorded in every run's history (replayed from
 * test/fixtures/histories) and named by the dashboards (deploy/), so it stays as it is. A step's name says which
 * step it is; what it calls has its own (`FasClient.postToken`, `postRefresh`).
 */
export interface TokenSteps {
  /**
   * The account behind a live deployment key with its configuration and its webchat-security flag, in one step
   * (one store query, one round of the workflow); null when the key is unknown or revoked.
   */
  loadAccount(deploymentKey: string): Promise<LoadedAccount | null>;
  /** Fails with the `FINGERPRINT_FAILURE` application failure when a signal the level needs is unusable. */
  generateFingerprint(
    signals: FingerprintSignals,
    level: FingerprintSensitivity,
  ): Promise<{ fingerprint: string; level: FingerprintSensitivity }>;
  /** The step that has FAS mint a token (`FasClient.postToken`). */
  requestToken(accountSid: string, request: FasTokenRequest, requestId: string): Promise<IssuedToken>;
  /** The step that has FAS refresh a token (`FasClient.postRefresh`); a refusal is a result. */
  refreshToken(accountSid: string, request: FasRefreshRequest, requestId: string): Promise<FasRefreshResult>;
}

/** What an issuance knows of its account once loaded: held by the run until it ends, never fetched again. */
export interface LoadedAccount {
  /** The account's configuration; its `accountSid` is the account. */
  config: AccountConfig;
  /** The webchat-security feature flag. */
  security: boolean;
}

/**
 * What a run reports as it goes: the workflows record it in search attributes and the UI's details line. A
 * workflow makes one per run (`finished` writes what `accountLoaded` was told).
 */
export interface RunObserver {
  accountLoaded(accountSid: string, security: boolean): void;
  finished(outcome: string, reason: string | null, details: string): void;
}

/** An observer for runs nobody watches (the direct path). */
export const unobserved: RunObserver = { accountLoaded: () => {}, finished: () => {} };
