/**
 * The store's tables as Kysely sees them, the same on SQLite and PostgreSQL (store/migrations.ts creates them).
 * Portable types only: times are integer milliseconds since the Unix epoch (UTC), booleans are 0 or 1, lists are
 * JSON text, hashes and sealed tokens are bytes (Buffer from both drivers).
 */
import type { Generated } from 'kysely';

export interface StoreSchema {
  accounts: AccountsTable;
  deployment_keys: DeploymentKeysTable;
  feature_flags: FeatureFlagsTable;
  token_refreshes: TokenRefreshesTable;
  token_revocations: TokenRevocationsTable;
  session_strikes: SessionStrikesTable;
}

export interface AccountsTable {
  account_sid: string;
  /** Defaults to ''. */
  friendly_name: Generated<string>;
  address_sid: string;
  /** JSON array of exact origins or wildcard subdomains; `[]` (the default) means any origin. */
  allowed_origins: Generated<string>;
  fingerprint_sensitivity: string;
  token_ttl_seconds: number;
  /** Null: SAS's SESSION_MAX_AGE_S. */
  session_max_age_seconds: number | null;
  /** `off` (the default), `optional` or `required` (domain/names.ts keyBindings). */
  key_binding: Generated<string>;
  created_at: number;
  updated_at: number;
}

export interface DeploymentKeysTable {
  key_id: string;
  account_sid: string;
  /** SHA-256 of the key: the key itself is never stored. */
  key_hash: Buffer;
  /** The key's first characters, so an operator can tell keys apart. */
  key_prefix: string;
  created_at: number;
  revoked_at: number | null;
}

export interface FeatureFlagsTable {
  account_sid: string;
  flag: string;
  /** 0 or 1. */
  enabled: number;
  updated_at: number;
}

export interface TokenRefreshesTable {
  parent_jti: string;
  session_id: string;
  requester: Buffer;
  successor: Buffer;
  refreshed_at: number;
  expires_at: number;
}

export interface SessionStrikesTable {
  session_id: string;
  /** Refreshes of the session presented with a fingerprint that did not match its token. */
  strikes: number;
  expires_at: number;
}

export interface TokenRevocationsTable {
  kind: string;
  subject: string;
  issued_before: number | null;
  revoked_at: number;
  expires_at: number;
}
