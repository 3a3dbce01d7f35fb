import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import {
  type AccountConfig,
  type FingerprintSensitivity,
  fingerprintSensitivities,
  type KeyBinding,
  keyBindings,
} from '../domain/contracts';
import type { StoreSchema } from './schema';

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

type Db = Kysely<StoreSchema>;

/**
 * Accounts with their live keys and their flags (only `flag`, when given), in one statement and so from one
 * snapshot: a row per (account, live key, flag), folded by `foldAccounts`. Accounts oldest first, keys oldest
 * first, for stable output.
 */
function accountRows(db: Db, flag?: string) {
  return db
    .selectFrom('accounts as a')
    .leftJoin('deployment_keys as k', (join) =>
      join.onRef('k.account_sid', '=', 'a.account_sid').on('k.revoked_at', 'is', null),
    )
    .leftJoin('feature_flags as f', (join) => {
      const onAccount = join.onRef('f.account_sid', '=', 'a.account_sid');
      return flag === undefined ? onAccount : onAccount.on('f.flag', '=', flag);
    })
    .select([
      'a.account_sid',
      'a.friendly_name',
      'a.address_sid',
      'a.allowed_origins',
      'a.fingerprint_sensitivity',
      'a.token_ttl_seconds',
      'a.session_max_age_seconds',
      'a.key_binding',
      'a.created_at',
      'a.updated_at',
      'k.key_id',
      'f.flag',
      'f.enabled',
    ])
    .orderBy('a.created_at')
    .orderBy('a.account_sid')
    .orderBy('k.created_at')
    .orderBy('k.key_id');
}

type AccountRow = Awaited<ReturnType<ReturnType<typeof accountRows>['execute']>>[number];

export async function selectAccount(db: Db, accountSid: string): Promise<AccountRecord | null> {
  const rows = await accountRows(db).where('a.account_sid', '=', accountSid).execute();
  return foldAccounts(rows)[0] ?? null;
}

/** Every account, oldest first. */
export async function selectAccounts(db: Db): Promise<AccountRecord[]> {
  return foldAccounts(await accountRows(db).execute());
}

/**
 * The account behind a live deployment key (by its hash) with its configuration and one flag, in one statement:
 * the whole of what an issuance reads from the store. Null for an unknown or revoked key.
 */
export async function selectAccountByKeyHash(
  db: Db,
  keyHash: Buffer,
  flag: string,
): Promise<AccountRecord | null> {
  const rows = await accountRows(db, flag)
    .where('a.account_sid', '=', (eb) =>
      eb
        .selectFrom('deployment_keys')
        .select('account_sid')
        .where('key_hash', '=', keyHash)
        .where('revoked_at', 'is', null),
    )
    .execute();
  return foldAccounts(rows)[0] ?? null;
}

function foldAccounts(rows: readonly AccountRow[]): AccountRecord[] {
  const accounts = new Map<string, AccountRecord>();
  for (const row of rows) {
    let account = accounts.get(row.account_sid);
    if (!account) {
      account = toAccountRecord(row);
      accounts.set(row.account_sid, account);
    }
    if (row.key_id !== null && !account.deploymentKeys.includes(row.key_id)) {
      account.deploymentKeys.push(row.key_id);
    }
    if (row.flag !== null && row.enabled !== null) account.featureFlags[row.flag] = row.enabled === 1;
  }
  return [...accounts.values()];
}

function toAccountRecord(row: AccountRow): AccountRecord {
  return {
    accountSid: row.account_sid,
    friendlyName: row.friendly_name,
    addressSid: row.address_sid,
    allowedOrigins: parseOrigins(row.allowed_origins),
    deploymentKeys: [],
    fingerprintSensitivity: toSensitivity(row.fingerprint_sensitivity),
    tokenTtlSeconds: row.token_ttl_seconds,
    ...(row.session_max_age_seconds === null ? {} : { sessionMaxAgeSeconds: row.session_max_age_seconds }),
    keyBinding: toKeyBinding(row.key_binding),
    featureFlags: {},
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function parseOrigins(json: string): string[] {
  const origins: unknown = JSON.parse(json);
  if (!Array.isArray(origins) || !origins.every((o) => typeof o === 'string')) {
    throw new Error('Unexpected allowed_origins in the database: not a JSON array of strings');
  }
  return origins;
}

function toKeyBinding(value: string): KeyBinding {
  const binding = keyBindings.find((b) => b === value);
  if (!binding) throw new Error(`Unexpected key_binding in the database: ${value}`);
  return binding;
}

function toSensitivity(value: string): FingerprintSensitivity {
  const level = fingerprintSensitivities.find((s) => s === value);
  if (!level) throw new Error(`Unexpected fingerprint_sensitivity in the database: ${value}`);
  return level;
}

export interface KeyRow {
  key_id: string;
  account_sid: string;
  key_prefix: string;
  created_at: number;
  revoked_at: number | null;
}

export const keyColumns = ['key_id', 'account_sid', 'key_prefix', 'created_at', 'revoked_at'] as const;

export function toKeyInfo(row: KeyRow): DeploymentKeyInfo {
  return {
    keyId: row.key_id,
    accountSid: row.account_sid,
    keyPrefix: row.key_prefix,
    createdAt: new Date(row.created_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
  };
}
