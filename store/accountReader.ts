import { type AccountConfig } from '../domain/contracts';
import { accountSid as accountSidSchema, deploymentKey as deploymentKeySchema } from './accountInput';
import { hashKey, selectAccount } from './accountRecords';
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
    if (!account) return null;
    // Exactly the contract's fields: the workflow keeps this in its history.
    return {
      accountSid: account.accountSid,
      allowedOrigins: account.allowedOrigins,
      addressSid: account.addressSid,
      deploymentKeys: account.deploymentKeys,
      fingerprintSensitivity: account.fingerprintSensitivity,
      tokenTtlSeconds: account.tokenTtlSeconds,
    };
  }

  /** Whether `flag` is on for the account; false when it was never set. */
  async getFeatureFlag(accountSid: string, flag: string): Promise<boolean> {
    const { rows } = await this.sql.query<{ enabled: boolean }>(
      'SELECT enabled FROM feature_flags WHERE account_sid = $1 AND flag = $2',
      [accountSid, flag],
    );
    return rows[0]?.enabled ?? false;
  }
}
