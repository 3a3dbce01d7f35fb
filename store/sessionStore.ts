import { z } from 'zod';
import { accountSid as accountSidSchema, parseInput } from './accountInput';
import { type SqlClient } from './sqlClient';

/**
 * The longest a token can live (SAS refuses a longer ttl): a revocation is kept this long, plus the clock
 * tolerance, after it was made, so that it outlives every token it covers.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 86_400;
const CLOCK_TOLERANCE_MS = 60_000;

/** What a revocation check needs from a verified token. */
export interface TokenSubject {
  sessionId: string;
  identity: string;
  accountSid: string;
  /** The token's `iat`, in seconds. */
  issuedAt: number;
}

/** A refresh as recorded: the first one of a parent token wins the row. */
export interface RefreshRecord {
  parentJti: string;
  sessionId: string;
  /** SHA-256 of the refreshing browser's fingerprint, 32 bytes. */
  requester: Uint8Array;
  /** The successor token, sealed (services/scoped-auth/successorBox.ts). */
  successor: Uint8Array;
  refreshedAt: Date;
  /** The parent token's expiry. */
  expiresAt: Date;
}

export type ClaimResult =
  { won: true } | { won: false; existing: Pick<RefreshRecord, 'requester' | 'successor' | 'refreshedAt'> };

export type RevocationKind = 'session' | 'identity' | 'account';

export interface Revocation {
  kind: RevocationKind;
  subject: string;
  /** Account revocations: tokens issued at or before this instant. */
  issuedBefore: Date | null;
  revokedAt: Date;
  expiresAt: Date;
}

const identitySchema = z.uuid();

/**
 * Refresh rotation and revocation state, shared by every SAS instance and the admin CLI. Written against
 * `SqlClient`, so it runs on PostgreSQL and on PGlite alike. Every timestamp comes from the caller's clock (SAS's,
 * which tests control), never from the database's `now()`.
 */
export class SessionStore {
  constructor(private readonly sql: SqlClient) {}

  /** One indexed read: is this token covered by a revocation of its session, its identity or its account? */
  async isRevoked(token: TokenSubject, now: Date): Promise<boolean> {
    const { rows } = await this.sql.query(
      `SELECT 1 FROM token_revocations
       WHERE expires_at > $5 AND (
         (kind = 'session' AND subject = $1)
         OR (kind = 'identity' AND subject = $2)
         OR (kind = 'account' AND subject = $3 AND issued_before >= $4))
       LIMIT 1`,
      [token.sessionId, token.identity, token.accountSid, new Date(token.issuedAt * 1000), now],
    );
    return rows.length > 0;
  }

  /**
   * Records the refresh of `parentJti`, atomically: of concurrent claims exactly one inserts the row (the
   * primary key decides, not a read before the write); every other one gets the winner's record back.
   */
  async claimRefresh(record: RefreshRecord): Promise<ClaimResult> {
    // Twice: the winner's row may be pruned between our insert and our read (its parent just expired).
    for (let attempt = 0; attempt < 2; attempt++) {
      const inserted = await this.sql.query(
        `INSERT INTO token_refreshes (parent_jti, session_id, requester, successor, refreshed_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (parent_jti) DO NOTHING
         RETURNING parent_jti`,
        [
          record.parentJti,
          record.sessionId,
          Buffer.from(record.requester),
          Buffer.from(record.successor),
          record.refreshedAt,
          record.expiresAt,
        ],
      );
      if (inserted.rows.length > 0) return { won: true };
      const { rows } = await this.sql.query<{
        requester: Uint8Array;
        successor: Uint8Array;
        refreshed_at: Date;
      }>('SELECT requester, successor, refreshed_at FROM token_refreshes WHERE parent_jti = $1', [
        record.parentJti,
      ]);
      const row = rows[0];
      if (row) {
        return {
          won: false,
          existing: { requester: row.requester, successor: row.successor, refreshedAt: row.refreshed_at },
        };
      }
    }
    throw new Error(`The refresh of ${record.parentJti} was neither recorded nor found`);
  }

  /** Revokes every token of a session (a refresh token was reused). */
  async revokeSession(sessionId: string, now: Date): Promise<void> {
    await this.revoke('session', parseInput(identitySchema, sessionId, 'sessionId'), null, now);
  }

  /** Revokes every token of a visitor identity, whenever it was issued. */
  async revokeIdentity(identity: string, now: Date = new Date()): Promise<Revocation> {
    return this.revoke('identity', parseInput(identitySchema, identity, 'identity'), null, now);
  }

  /** Revokes every token of an account issued at or before `now`; tokens issued later are not affected. */
  async revokeAccount(accountSid: string, now: Date = new Date()): Promise<Revocation> {
    return this.revoke('account', parseInput(accountSidSchema, accountSid, 'accountSid'), now, now);
  }

  /** Deletes the rows no live token needs any more. Returns how many went. */
  async prune(now: Date = new Date()): Promise<{ refreshes: number; revocations: number }> {
    const refreshes = await this.sql.query(
      'DELETE FROM token_refreshes WHERE expires_at <= $1 RETURNING parent_jti',
      [now],
    );
    const revocations = await this.sql.query(
      'DELETE FROM token_revocations WHERE expires_at <= $1 RETURNING subject',
      [now],
    );
    return { refreshes: refreshes.rows.length, revocations: revocations.rows.length };
  }

  close(): Promise<void> {
    return this.sql.close();
  }

  private async revoke(
    kind: RevocationKind,
    subject: string,
    issuedBefore: Date | null,
    now: Date,
  ): Promise<Revocation> {
    const expiresAt = new Date(now.getTime() + MAX_TOKEN_LIFETIME_SECONDS * 1000 + CLOCK_TOLERANCE_MS);
    // A second revocation of the same subject widens the first: the later cut-off and expiry win.
    const { rows } = await this.sql.query<{
      issued_before: Date | null;
      revoked_at: Date;
      expires_at: Date;
    }>(
      `INSERT INTO token_revocations (kind, subject, issued_before, revoked_at, expires_at)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (kind, subject) DO UPDATE SET
         issued_before = GREATEST(token_revocations.issued_before, EXCLUDED.issued_before),
         revoked_at = EXCLUDED.revoked_at,
         expires_at = GREATEST(token_revocations.expires_at, EXCLUDED.expires_at)
       RETURNING issued_before, revoked_at, expires_at`,
      [kind, subject, issuedBefore, now, expiresAt],
    );
    const row = rows[0];
    if (!row) throw new Error('The revocation was not recorded');
    return {
      kind,
      subject,
      issuedBefore: row.issued_before,
      revokedAt: row.revoked_at,
      expiresAt: row.expires_at,
    };
  }
}
