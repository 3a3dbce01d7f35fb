import type { AccountConfig } from './contracts';
import { WEBCHAT_SECURITY_FLAG } from './names';
import type { RunObserver, TokenSteps } from './tokenSteps';

export interface LoadedAccount {
  accountSid: string;
  /** Held by the run until it ends: never fetched again within one run. */
  config: AccountConfig;
  /** The webchat-security feature flag. */
  security: boolean;
}

/**
 * The account behind a deployment key, its configuration and its webchat-security flag, or null for an unknown
 * key. The three reads are keyed by the deployment key and run side by side: each is still its own step in the
 * UI, but a workflow wakes once for all three. A key revoked between the reads reads as unknown.
 */
export async function loadAccount(
  deploymentKey: string,
  steps: TokenSteps,
  observer: RunObserver,
): Promise<LoadedAccount | null> {
  const [accountSid, config, security] = await Promise.all([
    steps.resolveAccount(deploymentKey),
    steps.fetchAccountConfig(deploymentKey),
    steps.readFeatureFlag(deploymentKey, WEBCHAT_SECURITY_FLAG),
  ]);
  if (accountSid === null || config === null || config.accountSid !== accountSid) return null;
  observer.accountLoaded(accountSid, security);
  return { accountSid, config, security };
}
