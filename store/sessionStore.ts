import { sql } from 'kysely';
import { z } from 'zod';
import { TOKEN_CLOCK_TOLERANCE_SECONDS } from '../domain/tokenClock';
import { accountSidSchema, tokenTtlSeconds } from '../domain/accountRules';
import { parseInput } from './accountInput';
import type { StoreDatabase } from './database';

/**
 * A revocation is kept for the longest a token can live (domain/accountRules.ts), plus a minute, well past the
 * verifiers' clock tolerance (domain/tokenClock.ts), after it was made, so that it outlives every token it covers.
 */
const REVOCATION_MARGIN_MS = 60_000;

/** Rows one prune statement deletes at most: each batch is a short write, so SAS's refreshes never queue long. */
const PRUNE_BATCH = 1000;

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
 * Refresh rotation and revocation state, shared by every SAS instance and the admin CLI, on SQLite or
 * PostgreSQL alike. Every timestamp comes from the caller's clock (SAS's, which tests control), never from the
 * database's.
 */
export class SessionStore {
  constructor(private readonly database: StoreDatabase) {}

  /** One indexed read: is this token covered by a revocation of its session, its identity or its account? */
  async isRevoked(token: TokenSubject, now: Date): Promise<boolean> {
    const row = await this.database.db
      .selectFrom('token_revocations')
      .select('kind')
      .where('expires_at', '>', now.getTime())
      .where((eb) =>
        eb.or([
          eb.and([eb('kind', '=', 'session'), eb('subject', '=', token.sessionId)]),
          eb.and([eb('kind', '=', 'identity'), eb('subject', '=', token.identity)]),
          eb.and([
            eb('kind', '=', 'account'),
            eb('subject', '=', token.accountSid),
            eb('issued_before', '>=', token.issuedAt * 1000),
          ]),
        ]),
      )
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Records the refresh of `parentJti`, atomically: of concurrent claims exactly one inserts the row (the
   * primary key decides, not a read before the write); every other one gets the winner's record back.
   */
  async claimRefresh(record: RefreshRecord): Promise<ClaimResult> {
    const { db } = this.database;
    // Twice: the winner's row may be pruned between our insert and our read (its parent just expired).
    for (let attempt = 0; attempt < 2; attempt++) {
      const inserted = await db
        .insertInto('token_refreshes')
        .values({
          parent_jti: record.parentJti,
          session_id: record.sessionId,
          requester: Buffer.from(record.requester),
          successor: Buffer.from(record.successor),
          refreshed_at: record.refreshedAt.getTime(),
          expires_at: record.expiresAt.getTime(),
        })
        .onConflict((oc) => oc.column('parent_jti').doNothing())
        .returning('parent_jti')
        .executeTakeFirst();
      if (inserted) return { won: true };
      const row = await db
        .selectFrom('token_refreshes')
        .select(['requester', 'successor', 'refreshed_at'])
        .where('parent_jti', '=', record.parentJti)
        .executeTakeFirst();
      if (row) {
        return {
          won: false,
          existing: {
            requester: row.requester,
            successor: row.successor,
            refreshedAt: new Date(row.refreshed_at),
          },
        };
      }
    }
    throw new Error(`The refresh of ${record.parentJti} was neither recorded nor found`);
  }

  /**
   * Counts one refresh of a session presented with a fingerprint its token is not bound to, atomically in every
   * instance's shared store; returns the session's count so far. The row lives until `expiresAt`, when the
   * session cannot refresh any more.
   */
  async countFingerprintMismatch(sessionId: string, expiresAt: Date): Promise<number> {
    const greatest = this.database.dialect === 'postgres' ? 'greatest' : 'max';
    const row = await this.database.db
      .insertInto('session_strikes')
      .values({ session_id: sessionId, strikes: 1, expires_at: expiresAt.getTime() })
      .onConflict((oc) =>
        oc.column('session_id').doUpdateSet((eb) => ({
          strikes: eb('session_strikes.strikes', '+', 1),
          expires_at: eb.fn<number>(greatest, ['session_strikes.expires_at', 'excluded.expires_at']),
        })),
      )
      .returning('strikes')
      .executeTakeFirstOrThrow();
    return row.strikes;
  }

  /** Revokes every token of a session (a refresh token was reused). */
  async revokeSession(sessionId: string, now: Date): Promise<void> {
    await this.revoke('session', parseInput(identitySchema, sessionId, 'sessionId'), null, now);
  }

  /** Revokes every token of a visitor identity, whenever it was issued (recorded at `now`, else the database's). */
  async revokeIdentity(identity: string, now?: Date): Promise<Revocation> {
    const subject = parseInput(identitySchema, identity, 'identity');
    return this.revoke('identity', subject, null, now ?? (await this.databaseNow()));
  }

  /**
   * Revokes every token of an account issued up to now; tokens issued later are not affected. "Now" is the
   * database's clock, which every SAS and every admin machine share, plus the SAS verifier's clock tolerance:
   * the operator's own clock does not decide what a revocation covers. A test gives `now` itself.
   */
  async revokeAccount(accountSid: string, now?: Date): Promise<Revocation> {
    const sid = parseInput(accountSidSchema, accountSid, 'accountSid');
    const at = now ?? (await this.databaseNow());
    return this.revoke('account', sid, new Date(at.getTime() + TOKEN_CLOCK_TOLERANCE_SECONDS * 1000), at);
  }

  /** The database's clock. */
  private async databaseNow(): Promise<Date> {
    const { rows } = await sql<{ now: number }>`select ${this.database.now} as now`.execute(this.database.db);
    const now = rows[0]?.now;
    if (now === undefined) throw new Error('The database did not tell its time');
    return new Date(Number(now));
  }

  /**
   * Deletes the rows no live token needs any more (refresh records, mismatch counts, revocations), a batch per
   * statement, so that no write holds the store for long. Returns how many refreshes and revocations went.
   */
  async prune(now: Date = new Date()): Promise<{ refreshes: number; revocations: number }> {
    const { db } = this.database;
    const cutoff = now.getTime();
    let refreshes = 0;
    for (let n = PRUNE_BATCH; n === PRUNE_BATCH; refreshes += n) {
      const deleted = await db
        .deleteFrom('token_refreshes')
        .where('parent_jti', 'in', (eb) =>
          eb
            .selectFrom('token_refreshes')
            .select('parent_jti')
            .where('expires_at', '<=', cutoff)
            .limit(PRUNE_BATCH),
        )
        .executeTakeFirst();
      n = Number(deleted.numDeletedRows);
    }
    for (let n = PRUNE_BATCH; n === PRUNE_BATCH;) {
      const deleted = await db
        .deleteFrom('session_strikes')
        .where('session_id', 'in', (eb) =>
          eb
            .selectFrom('session_strikes')
            .select('session_id')
            .where('expires_at', '<=', cutoff)
            .limit(PRUNE_BATCH),
        )
        .executeTakeFirst();
      n = Number(deleted.numDeletedRows);
    }
    let revocations = 0;
    for (let n = PRUNE_BATCH; n === PRUNE_BATCH; revocations += n) {
      const deleted = await db
        .deleteFrom('token_revocations')
        .where('expires_at', '<=', cutoff)
        .where((eb) =>
          eb(
            eb.refTuple('kind', 'subject'),
            'in',
            eb
              .selectFrom('token_revocations')
              .select(['kind', 'subject'])
              .where('expires_at', '<=', cutoff)
              .limit(PRUNE_BATCH)
              .$asTuple('kind', 'subject'),
          ),
        )
        .executeTakeFirst();
      n = Number(deleted.numDeletedRows);
    }
    return { refreshes, revocations };
  }

  close(): Promise<void> {
    return this.database.close();
  }

  private async revoke(
    kind: RevocationKind,
    subject: string,
    issuedBefore: Date | null,
    now: Date,
  ): Promise<Revocation> {
    const expiresAt = now.getTime() + tokenTtlSeconds.max * 1000 + REVOCATION_MARGIN_MS;
    // A second revocation of the same subject widens the first: the later cut-off and expiry win. (Both rows
    // of a subject have issued_before set, or neither: the kind decides, so max() never meets a null.)
    const greatest = this.database.dialect === 'postgres' ? 'greatest' : 'max';
    const row = await this.database.db
      .insertInto('token_revocations')
      .values({
        kind,
        subject,
        issued_before: issuedBefore?.getTime() ?? null,
        revoked_at: now.getTime(),
        expires_at: expiresAt,
      })
      .onConflict((oc) =>
        oc.columns(['kind', 'subject']).doUpdateSet((eb) => ({
          issued_before: eb.fn<number | null>(greatest, [
            'token_revocations.issued_before',
            'excluded.issued_before',
          ]),
          revoked_at: eb.ref('excluded.revoked_at'),
          expires_at: eb.fn<number>(greatest, ['token_revocations.expires_at', 'excluded.expires_at']),
        })),
      )
      .returning(['issued_before', 'revoked_at', 'expires_at'])
      .executeTakeFirstOrThrow();
    return {
      kind,
      subject,
      issuedBefore: row.issued_before === null ? null : new Date(row.issued_before),
      revokedAt: new Date(row.revoked_at),
      expiresAt: new Date(row.expires_at),
    };
  }
}
