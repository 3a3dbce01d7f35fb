import { WEBCHAT_SECURITY_FLAG, type AccountConfig } from '../domain/contracts';
import { store } from './proxies';

export interface LoadedAccount {
  accountSid: string;
  /** Held by the run until it ends, as the design asks. */
  config: AccountConfig;
  /** The webchat-security feature flag. */
  security: boolean;
}

/**
 * The account behind a deployment key, its configuration and its webchat-security flag, or null for an unknown
 * key. The three reads are keyed by the deployment key and run side by side: each is still its own step (marker)
 * in the UI, but the run wakes once for all three. A key revoked between the reads reads as unknown.
 */
export async function loadAccount(deploymentKey: string): Promise<LoadedAccount | null> {
  const [accountSid, config, security] = await Promise.all([
    store.resolveAccount(deploymentKey),
    store.fetchAccountConfig(deploymentKey),
    store.readFeatureFlag(deploymentKey, WEBCHAT_SECURITY_FLAG),
  ]);
  if (accountSid === null || config === null || config.accountSid !== accountSid) return null;
  return { accountSid, config, security };
}
