import type { Kysely } from 'kysely';
import type { AccountConfig } from '../domain/contracts';
import { deploymentKey as deploymentKeySchema } from './accountInput';
import { type AccountRecord, hashKey, selectAccountByKeyHash } from './accountRecords';
import type { StoreSchema } from './schema';

/** What an issuance reads of the account behind a deployment key: its configuration and one flag. */
export interface AccountByKey {
  config: AccountConfig;
  /** Whether the flag asked for is on; false when it was never set. */
  flagEnabled: boolean;
}

/**
 * The token path's read (the `loadAccount` activity): a deployment key's account, its configuration and a flag.
 * Never throws for an unknown input: it reads as absent.
 */
export class AccountReader {
  constructor(private readonly db: Kysely<StoreSchema>) {}

  /**
   * The account behind a live deployment key, its configuration and `flag`, in one query (one round trip on
   * PostgreSQL, microseconds on SQLite). Null for an unknown or revoked key.
   */
  async readByDeploymentKey(key: string, flag: string): Promise<AccountByKey | null> {
    if (!deploymentKeySchema.safeParse(key).success) return null;
    const account = await selectAccountByKeyHash(this.db, hashKey(key), flag);
    return account
      ? { config: toAccountConfig(account), flagEnabled: account.featureFlags[flag] ?? false }
      : null;
  }
}

/**
 * Exactly the contract's fields, since the workflow keeps this in its history: the record less what only an
 * operator sees (a field added to AccountRecord must be listed here, or it reaches history).
 */
export function toAccountConfig(account: AccountRecord): AccountConfig {
  const {
    friendlyName: _name,
    featureFlags: _flags,
    createdAt: _created,
    updatedAt: _updated,
    ...config
  } = account;
  return config;
}
