import { WEBCHAT_SECURITY_FLAG, type AccountConfig } from '../../domain/contracts';
import { toAccountConfig } from '../../store/accountReader';
import type { AccountStore } from '../../store/accountStore';

/**
 * What a test asks the store after a write, through the same reads the product makes: the token path's
 * (`readByDeploymentKey`) and the operator's (`getAccount`).
 */

/** The account SID behind a live deployment key; null for an unknown or revoked key. */
export async function accountSidOf(store: AccountStore, deploymentKey: string): Promise<string | null> {
  return (await store.readByDeploymentKey(deploymentKey, WEBCHAT_SECURITY_FLAG))?.config.accountSid ?? null;
}

/** The configuration an issuance of this account would hold. */
export async function configOf(store: AccountStore, accountSid: string): Promise<AccountConfig | null> {
  const account = await store.getAccount(accountSid);
  return account && toAccountConfig(account);
}

/** Whether `flag` is on for the account; false when never set. */
export async function flagOf(store: AccountStore, accountSid: string, flag: string): Promise<boolean> {
  return (await store.getAccount(accountSid))?.featureFlags[flag] ?? false;
}
