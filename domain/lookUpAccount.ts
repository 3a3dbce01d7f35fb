import type { LoadedAccount, RunObserver, TokenSteps } from './tokenSteps';

/**
 * The account behind a deployment key, its configuration and its webchat-security flag (one step), or null for
 * an unknown or revoked key; a loaded account is reported to the run's observer (search attributes).
 */
export async function lookUpAccount(
  deploymentKey: string,
  steps: TokenSteps,
  observer: RunObserver,
): Promise<LoadedAccount | null> {
  const account = await steps.loadAccount(deploymentKey);
  if (account) observer.accountLoaded(account.config.accountSid, account.security);
  return account;
}
