import { type AccountConfig } from '../domain/contracts';
import { accountSid as accountSidSchema, deploymentKey as deploymentKeySchema } from './accountInput';
import { type AccountRecord, hashKey, selectAccount, selectAccountByKeyHash } from './accountRecords';
import { type SqlExecutor } from './sqlClient';

/**
 * The token path's reads (the activities): a deployment key's account, an account's configuration, a flag.
 * Never throws for an unknown input: it reads as absent.
 */
export class AccountReader {
  constructor(private readonly sql: SqlExecutor) {}

  /** The account SID behind a live deployment key; null for an unknown or revoked key. */
  async resolveDeploymentKey(key: string): Promise<string | null> {
    if (!deploymentKeySchema.safeParse(key).success) return null;
    const { rows } = await this.sql.query<{ account_sid: string }>(
      'SELECT account_sid FROM deployment_keys WHERE key_hash = $1 AND revoked_at IS NULL',
      [hashKey(key)],
    );
    return rows[0]?.account_sid ?? null;
  }

  /** The configuration the token workflow holds for one execution, or null for an unknown account. */
  async getAccountConfig(accountSid: string): Promise<AccountConfig | null> {
    if (!accountSidSchema.safeParse(accountSid).success) return null;
    const account = await selectAccount(this.sql, accountSid);
    return account ? toAccountConfig(account) : null;
  }

  /**
   * `getAccountConfig` for the account behind a live deployment key, in one query: the token workflow reads the
   * account, its configuration and its flag side by side, each keyed by the deployment key. Null for an unknown
   * or revoked key.
   */
  async getAccountConfigByDeploymentKey(key: string): Promise<AccountConfig | null> {
    if (!deploymentKeySchema.safeParse(key).success) return null;
    const account = await selectAccountByKeyHash(this.sql, hashKey(key));
    return account ? toAccountConfig(account) : null;
  }

  /** Whether `flag` is on for the account; false when it was never set. */
  async getFeatureFlag(accountSid: string, flag: string): Promise<boolean> {
    const { rows } = await this.sql.query<{ enabled: boolean }>(
      'SELECT enabled FROM feature_flags WHERE account_sid = $1 AND flag = $2',
      [accountSid, flag],
    );
    return rows[0]?.enabled ?? false;
  }

  /** `getFeatureFlag` for the account behind a live deployment key; false for an unknown or revoked key. */
  async getFeatureFlagByDeploymentKey(key: string, flag: string): Promise<boolean> {
    if (!deploymentKeySchema.safeParse(key).success) return false;
    const { rows } = await this.sql.query<{ enabled: boolean }>(
      `SELECT f.enabled FROM feature_flags f JOIN deployment_keys k ON k.account_sid = f.account_sid
       WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND f.flag = $2`,
      [hashKey(key), flag],
    );
    return rows[0]?.enabled ?? false;
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
