import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { accountSidSchema, keyIdSchema } from '../domain/accountRules';
import {
  createAccountInput,
  type CreateAccountInput,
  deploymentKey as deploymentKeySchema,
  featureFlag as featureFlagSchema,
  parseInput,
  updateAccountInput,
  type UpdateAccountInput,
} from './accountInput';
import {
  type AccountRecord,
  type CreatedAccount,
  type DeploymentKeyInfo,
  hashKey,
  keyColumns,
  type NewDeploymentKey,
  selectAccount,
  selectAccounts,
  toKeyInfo,
} from './accountRecords';
import type { StoreDatabase } from './database';
import type { StoreSchema } from './schema';
import { StoreError } from './storeError';

const KEY_PREFIX_LENGTH = 8;

/**
 * What an operator does with the account store (the admin CLI): reads and writes of accounts, deployment keys
 * and feature flags. Writes validate their input first, throwing `StoreError` with a stable code; every write
 * is one transaction, its times from the database's clock.
 */
export class AccountAdmin {
  constructor(protected readonly database: StoreDatabase) {}

  async getAccount(accountSid: string): Promise<AccountRecord | null> {
    if (!accountSidSchema.safeParse(accountSid).success) return null;
    return selectAccount(this.database.db, accountSid);
  }

  /** Every account, oldest first. */
  listAccounts(): Promise<AccountRecord[]> {
    return selectAccounts(this.database.db);
  }

  /**
   * Creates an account, with any given deployment keys and feature flags, in one transaction. SIDs not given
   * are generated. Throws `invalid_input`, `account_exists` or `deployment_key_exists`.
   */
  async createAccount(input: CreateAccountInput = {}): Promise<CreatedAccount> {
    const data = parseInput(createAccountInput, input, 'account');
    const accountSid = data.accountSid ?? randomSid('AC');
    const { now } = this.database;
    return this.write(async (tx) => {
      const inserted = await tx
        .insertInto('accounts')
        .values({
          account_sid: accountSid,
          friendly_name: data.friendlyName,
          address_sid: data.addressSid ?? randomSid('AD'),
          allowed_origins: JSON.stringify(data.allowedOrigins),
          fingerprint_sensitivity: data.fingerprintSensitivity,
          token_ttl_seconds: data.tokenTtlSeconds,
          session_max_age_seconds: data.sessionMaxAgeSeconds ?? null,
          key_binding: data.keyBinding,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('account_sid').doNothing())
        .returning('account_sid')
        .executeTakeFirst();
      if (!inserted) throw new StoreError('account_exists', `Account ${accountSid} already exists`);
      const keys: NewDeploymentKey[] = [];
      for (const key of data.deploymentKeys) keys.push(await this.insertKey(tx, accountSid, key));
      for (const [flag, enabled] of Object.entries(data.featureFlags)) {
        await this.upsertFlag(tx, accountSid, flag, enabled);
      }
      return { account: await mustSelectAccount(tx, accountSid), keys };
    });
  }

  /** Changes the given fields of an account. Throws `invalid_input` or `account_not_found`. */
  async updateAccount(accountSid: string, patch: UpdateAccountInput): Promise<AccountRecord> {
    const sid = parseInput(accountSidSchema, accountSid, 'accountSid');
    const data = parseInput(updateAccountInput, patch, 'account update');
    return this.write(async (tx) => {
      const updated = await tx
        .updateTable('accounts')
        .set({
          ...(data.friendlyName !== undefined && { friendly_name: data.friendlyName }),
          ...(data.addressSid !== undefined && { address_sid: data.addressSid }),
          ...(data.allowedOrigins !== undefined && { allowed_origins: JSON.stringify(data.allowedOrigins) }),
          ...(data.fingerprintSensitivity !== undefined && {
            fingerprint_sensitivity: data.fingerprintSensitivity,
          }),
          ...(data.tokenTtlSeconds !== undefined && { token_ttl_seconds: data.tokenTtlSeconds }),
          // null is a value here: back to the service default.
          ...(data.sessionMaxAgeSeconds !== undefined && {
            session_max_age_seconds: data.sessionMaxAgeSeconds,
          }),
          ...(data.keyBinding !== undefined && { key_binding: data.keyBinding }),
          updated_at: this.database.now,
        })
        .where('account_sid', '=', sid)
        .returning('account_sid')
        .executeTakeFirst();
      if (!updated) throw notFound(sid);
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
    return this.write(async (tx) => {
      await assertAccountExists(tx, sid);
      return this.insertKey(tx, sid, plaintext);
    });
  }

  /** Revokes a key; revoking it again keeps the first revocation time. Throws `deployment_key_not_found`. */
  async revokeDeploymentKey(keyId: string): Promise<DeploymentKeyInfo> {
    const id = parseInput(keyIdSchema, keyId, 'keyId');
    const row = await this.write((tx) =>
      tx
        .updateTable('deployment_keys')
        .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', this.database.now) }))
        .where('key_id', '=', id)
        .returning(keyColumns)
        .executeTakeFirst(),
    );
    if (!row) throw new StoreError('deployment_key_not_found', `Deployment key ${id} not found`);
    return toKeyInfo(row);
  }

  /** An account's deployment keys, revoked ones included, oldest first. Throws `account_not_found`. */
  async listDeploymentKeys(accountSid: string): Promise<DeploymentKeyInfo[]> {
    const sid = parseInput(accountSidSchema, accountSid, 'accountSid');
    const { db } = this.database;
    await assertAccountExists(db, sid);
    const rows = await db
      .selectFrom('deployment_keys')
      .select(keyColumns)
      .where('account_sid', '=', sid)
      .orderBy('created_at')
      .orderBy('key_id')
      .execute();
    return rows.map(toKeyInfo);
  }

  /** Sets a flag on an account. Throws `invalid_input` or `account_not_found`. */
  async setFeatureFlag(accountSid: string, flag: string, enabled: boolean): Promise<void> {
    const sid = parseInput(accountSidSchema, accountSid, 'accountSid');
    const name = parseInput(featureFlagSchema, flag, 'flag');
    const on = parseInput(z.boolean(), enabled, 'enabled');
    await this.write(async (tx) => {
      await assertAccountExists(tx, sid);
      await this.upsertFlag(tx, sid, name, on);
    });
  }

  /** An online backup of the whole store into `destination` (store/database.ts). */
  backup(destination: string): Promise<void> {
    return this.database.backup(destination);
  }

  /** Closes the database. */
  close(): Promise<void> {
    return this.database.close();
  }

  /** One write transaction (store/database.ts: on SQLite it holds the file's write lock from its start). */
  private write<T>(work: (tx: Kysely<StoreSchema>) => Promise<T>): Promise<T> {
    return this.database.db.transaction().execute(work);
  }

  private async insertKey(
    tx: Kysely<StoreSchema>,
    accountSid: string,
    key: string,
  ): Promise<NewDeploymentKey> {
    const keyId = randomSid('DK');
    const inserted = await tx
      .insertInto('deployment_keys')
      .values({
        key_id: keyId,
        account_sid: accountSid,
        key_hash: hashKey(key),
        key_prefix: key.slice(0, KEY_PREFIX_LENGTH),
        created_at: this.database.now,
      })
      .onConflict((oc) => oc.doNothing())
      .returning('key_id')
      .executeTakeFirst();
    if (!inserted) {
      throw new StoreError('deployment_key_exists', 'This deployment key is already in use; choose another');
    }
    return { keyId, key };
  }

  private async upsertFlag(
    tx: Kysely<StoreSchema>,
    accountSid: string,
    flag: string,
    enabled: boolean,
  ): Promise<void> {
    const { now } = this.database;
    await tx
      .insertInto('feature_flags')
      .values({ account_sid: accountSid, flag, enabled: enabled ? 1 : 0, updated_at: now })
      .onConflict((oc) =>
        oc.columns(['account_sid', 'flag']).doUpdateSet((eb) => ({
          enabled: eb.ref('excluded.enabled'),
          updated_at: now,
        })),
      )
      .execute();
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

async function assertAccountExists(db: Kysely<StoreSchema>, accountSid: string): Promise<void> {
  const row = await db
    .selectFrom('accounts')
    .select('account_sid')
    .where('account_sid', '=', accountSid)
    .executeTakeFirst();
  if (!row) throw notFound(accountSid);
}

async function mustSelectAccount(db: Kysely<StoreSchema>, accountSid: string): Promise<AccountRecord> {
  const account = await selectAccount(db, accountSid);
  if (!account) throw notFound(accountSid);
  return account;
}
