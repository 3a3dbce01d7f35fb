import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  accountSid as accountSidSchema,
  createAccountInput,
  type CreateAccountInput,
  deploymentKey as deploymentKeySchema,
  featureFlag as featureFlagSchema,
  keyId as keyIdSchema,
  parseInput,
  updateAccountInput,
  type UpdateAccountInput,
} from './accountInput';
import {
  type AccountRecord,
  type CreatedAccount,
  type DeploymentKeyInfo,
  hashKey,
  type KeyRow,
  type NewDeploymentKey,
  selectAccount,
  selectAccounts,
  toKeyInfo,
} from './accountRecords';
import { type SqlClient, type SqlExecutor } from './sqlClient';
import { StoreError } from './storeError';

const KEY_PREFIX_LENGTH = 8;

/**
 * What an operator does with the account store (the admin CLI): reads and writes of accounts, deployment keys
 * and feature flags. Writes validate their input first, throwing `StoreError` with a stable code; every
 * multi-statement write runs in one transaction.
 */
export class AccountAdmin {
  constructor(private readonly sql: SqlClient) {}

  async getAccount(accountSid: string): Promise<AccountRecord | null> {
    if (!accountSidSchema.safeParse(accountSid).success) return null;
    return selectAccount(this.sql, accountSid);
  }

  /** Every account, oldest first. */
  listAccounts(): Promise<AccountRecord[]> {
    return selectAccounts(this.sql);
  }

  /**
   * Creates an account, with any given deployment keys and feature flags, in one transaction. SIDs not given
   * are generated. Throws `invalid_input`, `account_exists` or `deployment_key_exists`.
   */
  async createAccount(input: CreateAccountInput = {}): Promise<CreatedAccount> {
    const data = parseInput(createAccountInput, input, 'account');
    const accountSid = data.accountSid ?? randomSid('AC');
    return this.sql.transaction(async (tx) => {
      const { rows } = await tx.query<{ account_sid: string }>(
        `INSERT INTO accounts
           (account_sid, friendly_name, address_sid, allowed_origins, fingerprint_sensitivity, token_ttl_seconds)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (account_sid) DO NOTHING
         RETURNING account_sid`,
        [
          accountSid,
          data.friendlyName,
          data.addressSid ?? randomSid('AD'),
          data.allowedOrigins,
          data.fingerprintSensitivity,
          data.tokenTtlSeconds,
        ],
      );
      if (rows.length === 0) throw new StoreError('account_exists', `Account ${accountSid} already exists`);
      const keys: NewDeploymentKey[] = [];
      for (const key of data.deploymentKeys) keys.push(await insertKey(tx, accountSid, key));
      for (const [flag, enabled] of Object.entries(data.featureFlags)) {
        await upsertFlag(tx, accountSid, flag, enabled);
      }
      return { account: await mustSelectAccount(tx, accountSid), keys };
    });
  }

  /** Changes the given fields of an account. Throws `invalid_input` or `account_not_found`. */
  async updateAccount(accountSid: string, patch: UpdateAccountInput): Promise<AccountRecord> {
    const sid = parseInput(accountSidSchema, accountSid, 'accountSid');
    const data = parseInput(updateAccountInput, patch, 'account update');
    return this.sql.transaction(async (tx) => {
      // COALESCE keeps a column when its parameter is null, i.e. the field was not in the patch.
      const { rows } = await tx.query(
        `UPDATE accounts SET
           friendly_name = COALESCE($2, friendly_name),
           address_sid = COALESCE($3, address_sid),
           allowed_origins = COALESCE($4::text[], allowed_origins),
           fingerprint_sensitivity = COALESCE($5, fingerprint_sensitivity),
           token_ttl_seconds = COALESCE($6::integer, token_ttl_seconds),
           updated_at = now()
         WHERE account_sid = $1
         RETURNING account_sid`,
        [
          sid,
          data.friendlyName ?? null,
          data.addressSid ?? null,
          data.allowedOrigins ?? null,
          data.fingerprintSensitivity ?? null,
          data.tokenTtlSeconds ?? null,
        ],
      );
      if (rows.length === 0) throw notFound(sid);
      return mustSelectAccount(tx, sid);
    });
  }

  /**
   * Adds a deployment key to an account. Without `key`, generates one (`dk_` + 192 random bits). The plaintext
   * is returned here once; only its SHA-256 is stored.
   */
  async addDeploymentKey(accountSid: string, key?: string): Promise<NewDeploymentKey> {
    const sid = parseInput(accountSidSchema, accountSid, 'accountSid');
    const plaintext =
      key === undefined ? generateDeploymentKey() : parseInput(deploymentKeySchema, key, 'key');
    return this.sql.transaction(async (tx) => {
      await assertAccountExists(tx, sid);
      return insertKey(tx, sid, plaintext);
    });
  }

  /** Revokes a key; revoking it again keeps the first revocation time. Throws `deployment_key_not_found`. */
  async revokeDeploymentKey(keyId: string): Promise<DeploymentKeyInfo> {
    const id = parseInput(keyIdSchema, keyId, 'keyId');
    const { rows } = await this.sql.query<KeyRow>(
      `UPDATE deployment_keys SET revoked_at = COALESCE(revoked_at, now())
       WHERE key_id = $1
       RETURNING key_id, account_sid, key_prefix, created_at, revoked_at`,
      [id],
    );
    const row = rows[0];
    if (!row) throw new StoreError('deployment_key_not_found', `Deployment key ${id} not found`);
    return toKeyInfo(row);
  }

  /** An account's deployment keys, revoked ones included, oldest first. Throws `account_not_found`. */
  async listDeploymentKeys(accountSid: string): Promise<DeploymentKeyInfo[]> {
    const sid = parseInput(accountSidSchema, accountSid, 'accountSid');
    return this.sql.transaction(async (tx) => {
      await assertAccountExists(tx, sid);
      const { rows } = await tx.query<KeyRow>(
        `SELECT key_id, account_sid, key_prefix, created_at, revoked_at FROM deployment_keys
         WHERE account_sid = $1 ORDER BY created_at, key_id`,
        [sid],
      );
      return rows.map(toKeyInfo);
    });
  }

  /** Sets a flag on an account. Throws `invalid_input` or `account_not_found`. */
  async setFeatureFlag(accountSid: string, flag: string, enabled: boolean): Promise<void> {
    const sid = parseInput(accountSidSchema, accountSid, 'accountSid');
    const name = parseInput(featureFlagSchema, flag, 'flag');
    const on = parseInput(z.boolean(), enabled, 'enabled');
    await this.sql.transaction(async (tx) => {
      await assertAccountExists(tx, sid);
      await upsertFlag(tx, sid, name, on);
    });
  }

  /** Closes the underlying client. */
  close(): Promise<void> {
    return this.sql.close();
  }
}

/** A new random deployment key: `dk_` + base64url of 24 random bytes (192 bits). */
export function generateDeploymentKey(): string {
  return `dk_${randomBytes(24).toString('base64url')}`;
}

function randomSid(prefix: 'AC' | 'AD' | 'DK'): string {
  return prefix + randomBytes(16).toString('hex');
}

function notFound(accountSid: string): StoreError {
  return new StoreError('account_not_found', `Account ${accountSid} not found`);
}

async function assertAccountExists(tx: SqlExecutor, accountSid: string): Promise<void> {
  // FOR SHARE: the account cannot vanish between this check and the caller's insert.
  const { rows } = await tx.query('SELECT 1 FROM accounts WHERE account_sid = $1 FOR SHARE', [accountSid]);
  if (rows.length === 0) throw notFound(accountSid);
}

async function insertKey(tx: SqlExecutor, accountSid: string, key: string): Promise<NewDeploymentKey> {
  const keyId = randomSid('DK');
  const { rows } = await tx.query(
    `INSERT INTO deployment_keys (key_id, account_sid, key_hash, key_prefix) VALUES ($1, $2, $3, $4)
     ON CONFLICT DO NOTHING RETURNING key_id`,
    [keyId, accountSid, hashKey(key), key.slice(0, KEY_PREFIX_LENGTH)],
  );
  if (rows.length === 0) {
    throw new StoreError('deployment_key_exists', 'This deployment key is already in use; choose another');
  }
  return { keyId, key };
}

async function upsertFlag(
  tx: SqlExecutor,
  accountSid: string,
  flag: string,
  enabled: boolean,
): Promise<void> {
  await tx.query(
    `INSERT INTO feature_flags (account_sid, flag, enabled) VALUES ($1, $2, $3)
     ON CONFLICT (account_sid, flag) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()`,
    [accountSid, flag, enabled],
  );
}

async function mustSelectAccount(sql: SqlExecutor, accountSid: string): Promise<AccountRecord> {
  const account = await selectAccount(sql, accountSid);
  if (!account) throw notFound(accountSid);
  return account;
}
