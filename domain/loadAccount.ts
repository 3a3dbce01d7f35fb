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
 * key. Configuration and flag are read side by side once the account is known: each read is still its own step
 * in the UI, but a workflow wakes once for both, and reports account and flag together.
 */
export async function loadAccount(
  deploymentKey: string,
  steps: TokenSteps,
  observer: RunObserver,
): Promise<LoadedAccount | null> {
  const accountSid = await steps.resolveAccount(deploymentKey);
  if (accountSid === null) return null;
  const [config, security] = await Promise.all([
    steps.fetchAccountConfig(accountSid),
    steps.readFeatureFlag(accountSid, WEBCHAT_SECURITY_FLAG),
  ]);
  observer.accountLoaded(accountSid, security);
  return { accountSid, config, security };
}
