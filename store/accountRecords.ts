import { createHash } from 'node:crypto';
import {
  type AccountConfig,
  type FingerprintSensitivity,
  fingerprintSensitivities,
} from '../domain/contracts';
import { type SqlExecutor } from './sqlClient';

/** How accounts and keys are read from their rows: shared by the token path's reads and the admin half. */

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

/** What is stored of a deployment key: its SHA-256. */
export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
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

export interface KeyRow {
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

export async function selectAccount(sql: SqlExecutor, accountSid: string): Promise<AccountRecord | null> {
  const { rows } = await sql.query<AccountRow>(`${SELECT_ACCOUNT} WHERE a.account_sid = $1`, [accountSid]);
  return rows[0] ? toAccountRecord(rows[0]) : null;
}

/** The account behind a live deployment key (by its hash), or null. */
export async function selectAccountByKeyHash(
  sql: SqlExecutor,
  keyHash: Buffer,
): Promise<AccountRecord | null> {
  const { rows } = await sql.query<AccountRow>(
    `${SELECT_ACCOUNT} WHERE a.account_sid = (SELECT account_sid FROM deployment_keys WHERE key_hash = $1 AND revoked_at IS NULL)`,
    [keyHash],
  );
  return rows[0] ? toAccountRecord(rows[0]) : null;
}

/** Every account, oldest first. */
export async function selectAccounts(sql: SqlExecutor): Promise<AccountRecord[]> {
  const { rows } = await sql.query<AccountRow>(`${SELECT_ACCOUNT} ORDER BY a.created_at, a.account_sid`);
  return rows.map(toAccountRecord);
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

function toSensitivity(value: string): FingerprintSensitivity {
  const level = fingerprintSensitivities.find((s) => s === value);
  if (!level) throw new Error(`Unexpected fingerprint_sensitivity in the database: ${value}`);
  return level;
}

export function toKeyInfo(row: KeyRow): DeploymentKeyInfo {
  return {
    keyId: row.key_id,
    accountSid: row.account_sid,
    keyPrefix: row.key_prefix,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
