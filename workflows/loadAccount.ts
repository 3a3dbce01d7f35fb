import { upsertSearchAttributes } from '@temporalio/workflow';
import { WEBCHAT_SECURITY_FLAG, type AccountConfig } from '../domain/contracts';
import * as sa from '../domain/searchAttributes';
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
 * key. Configuration and flag are read side by side once the account is known: each read is still its own step
 * in the UI, but the workflow wakes once for both, and the account and flag reach the run's search attributes in
 * one upsert.
 */
export async function loadAccount(deploymentKey: string): Promise<LoadedAccount | null> {
  const accountSid = await store.resolveAccount(deploymentKey);
  if (accountSid === null) return null;
  const [config, security] = await Promise.all([
    store.fetchAccountConfig(accountSid),
    store.readFeatureFlag(accountSid, WEBCHAT_SECURITY_FLAG),
  ]);
  upsertSearchAttributes([
    { key: sa.AccountSid, value: accountSid },
    { key: sa.Security, value: security },
  ]);
  return { accountSid, config, security };
}
