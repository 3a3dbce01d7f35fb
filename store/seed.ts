import { WEBCHAT_SECURITY_FLAG, type FingerprintSensitivity, type KeyBinding } from '../domain/contracts';
import { type AccountStore } from './accountStore';
import { StoreError } from './storeError';

/** A demo account with fixed SIDs and key, so the README and the demo page can name them. */
export interface DemoAccount {
  accountSid: string;
  addressSid: string;
  friendlyName: string;
  /** Public by design: demo keys are printed at start-up and written in the docs. */
  deploymentKey: string;
  webchatSecurity: boolean;
  allowedOrigins: readonly string[];
  fingerprintSensitivity: FingerprintSensitivity;
  tokenTtlSeconds: number;
  keyBinding: KeyBinding;
}

export const demoAccounts: readonly DemoAccount[] = [
  {
    accountSid: 'AC00000000000000000000000000000001',
    addressSid: 'AD00000000000000000000000000000001',
    friendlyName: 'Demo: open',
    deploymentKey: 'dk_demo_open',
    webchatSecurity: false,
    allowedOrigins: [],
    fingerprintSensitivity: 'low',
    tokenTtlSeconds: 3600,
    keyBinding: 'off',
  },
  {
    accountSid: 'AC00000000000000000000000000000002',
    addressSid: 'AD00000000000000000000000000000002',
    friendlyName: 'Demo: secure',
    deploymentKey: 'dk_demo_secure',
    webchatSecurity: true,
    allowedOrigins: ['http://localhost:8081', 'https://*.example.com'],
    fingerprintSensitivity: 'medium',
    tokenTtlSeconds: 3600,
    keyBinding: 'off',
  },
  {
    accountSid: 'AC00000000000000000000000000000003',
    addressSid: 'AD00000000000000000000000000000003',
    friendlyName: 'Demo: key-bound',
    deploymentKey: 'dk_demo_dpop',
    webchatSecurity: false,
    allowedOrigins: ['http://localhost:8081'],
    fingerprintSensitivity: 'medium',
    tokenTtlSeconds: 3600,
    keyBinding: 'required',
  },
];

export interface SeedResult {
  /** The demo accounts this call created; empty when it did nothing. */
  created: DemoAccount[];
}

/**
 * Creates the demo accounts in a store that holds no other accounts, so a real deployment never gets them.
 * Idempotent: a demo account already there is left as it is (an operator may have changed it), and a missing
 * one is created, each account with its key and flag in one transaction.
 */
export async function seedDemoAccounts(store: AccountStore): Promise<SeedResult> {
  const demoSids = new Set(demoAccounts.map((d) => d.accountSid));
  const existing = new Set((await store.listAccounts()).map((a) => a.accountSid));
  if ([...existing].some((sid) => !demoSids.has(sid))) return { created: [] };

  const created: DemoAccount[] = [];
  for (const demo of demoAccounts.filter((d) => !existing.has(d.accountSid))) {
    try {
      await store.createAccount({
        accountSid: demo.accountSid,
        addressSid: demo.addressSid,
        friendlyName: demo.friendlyName,
        allowedOrigins: [...demo.allowedOrigins],
        fingerprintSensitivity: demo.fingerprintSensitivity,
        tokenTtlSeconds: demo.tokenTtlSeconds,
        keyBinding: demo.keyBinding,
        deploymentKeys: [demo.deploymentKey],
        featureFlags: { [WEBCHAT_SECURITY_FLAG]: demo.webchatSecurity },
      });
      created.push(demo);
    } catch (err) {
      // Another seeder got there first.
      if (!(err instanceof StoreError && err.code === 'account_exists')) throw err;
    }
  }
  return { created };
}
