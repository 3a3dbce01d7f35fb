import type { AccountConfig, DpopCheck, FingerprintSignals } from './contracts';
import { isOriginAllowed } from './cors';
import { FINGERPRINT_FAILURE, isActivityFailureOfType } from './failureTypes';
import type { FingerprintBinding } from './fasRequests';
import type { RunObserver, TokenSteps } from './tokenSteps';

/** The checks before FAS is asked, in the order they are made; a refusal names the one that failed. */
export type AdmissionCheck = 'account' | 'origin' | 'key' | 'fingerprint';

/** A refused request names its check; an admitted one carries what FAS is asked with. */
export type Admission<Key> =
  | { admitted: false; failed: AdmissionCheck; config: AccountConfig | null }
  | { admitted: true; config: AccountConfig; key: Key; fingerprint: FingerprintBinding | undefined };

/**
 * What an issuance and a refresh both do before FAS is asked, in this order: load the account behind the
 * deployment key with its configuration and webchat-security flag (one step, reported to the run's observer;
 * held until the run ends), refuse a page on an origin the account does not allow, decide the key binding
 * (`keyFor`: domain/keyBinding.ts), and fingerprint the browser when the flag is on. A refused request gets no
 * fingerprint and no FAS call; each caller answers a refusal with its own code.
 */
export async function admit<Key>(
  input: { deploymentKey: string; origin: string | null; signals: FingerprintSignals; dpop?: DpopCheck },
  steps: TokenSteps,
  observer: RunObserver,
  keyFor: (config: AccountConfig, dpop: DpopCheck | undefined) => Key | 'refuse',
): Promise<Admission<Key>> {
  const account = await steps.loadAccount(input.deploymentKey);
  if (account === null) return { admitted: false, failed: 'account', config: null };
  const { config, security } = account;
  observer.accountLoaded(config.accountSid, security);
  if (!isOriginAllowed(config.allowedOrigins, input.origin))
    return { admitted: false, failed: 'origin', config };
  const key = keyFor(config, input.dpop);
  if (key === 'refuse') return { admitted: false, failed: 'key', config };
  if (!security) return { admitted: true, config, key, fingerprint: undefined };
  try {
    const fingerprint = await steps.generateFingerprint(input.signals, config.fingerprintSensitivity);
    return { admitted: true, config, key, fingerprint };
  } catch (err) {
    if (isActivityFailureOfType(err, FINGERPRINT_FAILURE))
      return { admitted: false, failed: 'fingerprint', config };
    throw err;
  }
}
