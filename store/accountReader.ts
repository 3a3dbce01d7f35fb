import type { Kysely } from 'kysely';
import type { AccountConfig } from '../domain/contracts';
import { accountSid as accountSidSchema, deploymentKey as deploymentKeySchema } from './accountInput';
import { type AccountRecord, hashKey, selectAccount, selectAccountByKeyHash } from './accountRecords';
import type { StoreSchema } from './schema';

/** What an issuance reads of the account behind a deployment key: its configuration and one flag. */
export interface AccountByKey {
  config: AccountConfig;
  /** Whether the flag asked for is on; false when it was never set. */
  flagEnabled: boolean;
}

/**
 * The token path's reads (the activities): a deployment key's account, an account's configuration, a flag.
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

  /** The account SID behind a live deployment key; null for an unknown or revoked key. */
  async resolveDeploymentKey(key: string): Promise<string | null> {
    return (await this.readByDeploymentKey(key, ''))?.config.accountSid ?? null;
  }

  /** The configuration the token workflow holds for one execution, or null for an unknown account. */
  async getAccountConfig(accountSid: string): Promise<AccountConfig | null> {
    if (!accountSidSchema.safeParse(accountSid).success) return null;
    const account = await selectAccount(this.db, accountSid);
    return account ? toAccountConfig(account) : null;
  }

  /** Whether `flag` is on for the account; false when it was never set. */
  async getFeatureFlag(accountSid: string, flag: string): Promise<boolean> {
    if (!accountSidSchema.safeParse(accountSid).success) return false;
    const row = await this.db
      .selectFrom('feature_flags')
      .select('enabled')
      .where('account_sid', '=', accountSid)
      .where('flag', '=', flag)
      .executeTakeFirst();
    return row?.enabled === 1;
  }
}

/**
 * Exactly the contract's fields, since the workflow keeps this in its history: the record less what only an
 * operator sees (a field added to AccountRecord must be listed here, or it reaches history).
 */
function toAccountConfig(account: AccountRecord): AccountConfig {
  const {
    friendlyName: _name,
    featureFlags: _flags,
    createdAt: _created,
    updatedAt: _updated,
    ...config
  } = account;
  return config;
}
