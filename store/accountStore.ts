import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  type AccountConfig,
  type FingerprintSensitivity,
  fingerprintSensitivities,
} from '../domain/contracts';
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
import { type SqlClient, type SqlExecutor } from './sqlClient';
import { StoreError } from './storeError';

/** An account as an operator sees it: its token configuration plus bookkeeping. */
export interface AccountRecord extends AccountConfig {
  friendlyName: string;
  /** Flags explicitly set on the account; an absent flag reads as off. */
  featureFlags: Record<string, boolean>;
  createdAt: Date;
  updatedAt: Date;
}

/** A deployment key's metadata; the key itself is never stored. */
export interface DeploymentKeyInfo {
  keyId: string;
  accountSid: string;
  /** The key's first characters, for operators to tell keys apart. */
  keyPrefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** A key just created: the only time its plaintext is available. */
export interface NewDeploymentKey {
  keyId: string;
  key: string;
}

export interface CreatedAccount {
  account: AccountRecord;
  keys: NewDeploymentKey[];
}

const KEY_PREFIX_LENGTH = 8;

/**
 * Accounts, deployment keys and feature flags. Reads serve the token workflow; writes serve the admin CLI and
 * validate their input first, throwing `StoreError` with a stable code. Every multi-statement write runs in one
 * transaction.
 */
export class AccountStore {
  constructor(private readonly sql: SqlClient) {}

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
    const account = await this.getAccount(accountSid);
    return account ? toAccountConfig(account) : null;
  }

  /**
   * `getAccountConfig` for the account behind a live deployment key, in one query: the token workflow reads the
   * account, its configuration and its flag side by side, each keyed by the deployment key. Null for an unknown
   * or revoked key.
   */
  async getAccountConfigByDeploymentKey(key: string): Promise<AccountConfig | null> {
    if (!deploymentKeySchema.safeParse(key).success) return null;
    const { rows } = await this.sql.query<AccountRow>(
      `${SELECT_ACCOUNT} WHERE a.account_sid = (SELECT account_sid FROM deployment_keys WHERE key_hash = $1 AND revoked_at IS NULL)`,
      [hashKey(key)],
    );
    return rows[0] ? toAccountConfig(toAccountRecord(rows[0])) : null;
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

  /** Whether `flag` is on for the account; false when it was never set. */
  async getFeatureFlag(accountSid: string, flag: string): Promise<boolean> {
    const { rows } = await this.sql.query<{ enabled: boolean }>(
      'SELECT enabled FROM feature_flags WHERE account_sid = $1 AND flag = $2',
      [accountSid, flag],
    );
    return rows[0]?.enabled ?? false;
  }

  async getAccount(accountSid: string): Promise<AccountRecord | null> {
    if (!accountSidSchema.safeParse(accountSid).success) return null;
    return selectAccount(this.sql, accountSid);
  }

  /** Every account, oldest first. */
  async listAccounts(): Promise<AccountRecord[]> {
    const { rows } = await this.sql.query<AccountRow>(
      `${SELECT_ACCOUNT} ORDER BY a.created_at, a.account_sid`,
    );
    return rows.map(toAccountRecord);
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

function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
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

interface AccountRow {
  account_sid: string;
  friendly_name: string;
  address_sid: string;
  allowed_origins: string[];
  fingerprint_sensitivity: string;
  token_ttl_seconds: number;
  created_at: Date;
  updated_at: Date;
  deployment_keys: string[];
  feature_flags: Record<string, boolean>;
}

interface KeyRow {
  key_id: string;
  account_sid: string;
  key_prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

// One statement, so a config is read from one snapshot. Key ids are ordered for stable output.
const SELECT_ACCOUNT = `
  SELECT a.account_sid, a.friendly_name, a.address_sid, a.allowed_origins, a.fingerprint_sensitivity,
         a.token_ttl_seconds, a.created_at, a.updated_at,
         ARRAY(SELECT k.key_id FROM deployment_keys k
               WHERE k.account_sid = a.account_sid AND k.revoked_at IS NULL
               ORDER BY k.created_at, k.key_id) AS deployment_keys,
         COALESCE((SELECT jsonb_object_agg(f.flag, f.enabled) FROM feature_flags f
                   WHERE f.account_sid = a.account_sid), '{}'::jsonb) AS feature_flags
  FROM accounts a`;

async function selectAccount(sql: SqlExecutor, accountSid: string): Promise<AccountRecord | null> {
  const { rows } = await sql.query<AccountRow>(`${SELECT_ACCOUNT} WHERE a.account_sid = $1`, [accountSid]);
  return rows[0] ? toAccountRecord(rows[0]) : null;
}

async function mustSelectAccount(sql: SqlExecutor, accountSid: string): Promise<AccountRecord> {
  const account = await selectAccount(sql, accountSid);
  if (!account) throw notFound(accountSid);
  return account;
}

function toAccountRecord(row: AccountRow): AccountRecord {
  return {
    accountSid: row.account_sid,
    friendlyName: row.friendly_name,
    addressSid: row.address_sid,
    allowedOrigins: row.allowed_origins,
    deploymentKeys: row.deployment_keys,
    fingerprintSensitivity: toSensitivity(row.fingerprint_sensitivity),
    tokenTtlSeconds: row.token_ttl_seconds,
    featureFlags: row.feature_flags,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Exactly the contract's fields: the workflow keeps this in its history. */
function toAccountConfig(account: AccountRecord): AccountConfig {
  return {
    accountSid: account.accountSid,
    allowedOrigins: account.allowedOrigins,
    addressSid: account.addressSid,
    deploymentKeys: account.deploymentKeys,
    fingerprintSensitivity: account.fingerprintSensitivity,
    tokenTtlSeconds: account.tokenTtlSeconds,
  };
}

function toSensitivity(value: string): FingerprintSensitivity {
  const level = fingerprintSensitivities.find((s) => s === value);
  if (!level) throw new Error(`Unexpected fingerprint_sensitivity in the database: ${value}`);
  return level;
}

function toKeyInfo(row: KeyRow): DeploymentKeyInfo {
  return {
    keyId: row.key_id,
    accountSid: row.account_sid,
    keyPrefix: row.key_prefix,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
