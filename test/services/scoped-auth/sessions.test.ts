import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TOKEN_CLOCK_TOLERANCE_SECONDS } from '../../../domain/tokenClock';
import { createLogger } from '../../../lib/logger';
import { createServiceCredentials } from '../../../lib/serviceAuth';
import { postAsService } from '../../../scripts/stack/serviceAuthorization';
import type { ScopedAuthConfig } from '../../../services/scoped-auth/config';
import { startScopedAuth, type ScopedAuthService } from '../../../services/scoped-auth/start';
import { forEachBackend } from '../../store/backends';
import { countRows, dumpTables } from '../../store/tables';
import { inMemorySessions } from '../../helpers/sessions';

/**
 * Sessions at SAS over HTTP, as FAS uses it: refresh rotation with reuse detection, the session's maximum age,
 * revocation. SAS runs on a clock the tests move, on each store backend (on PostgreSQL, concurrent refreshes
 * really run side by side on a connection pool).
 */
const accountSid = 'AC0123456789abcdef0123456789abcdef';
const grants = { webchat: { addressSid: 'IS0123456789abcdef0123456789abcdef' } };
const authSecret = randomBytes(32).toString('base64url');
const asFas = createServiceCredentials({
  issuer: 'federated-auth',
  audience: 'scoped-auth',
  secret: Buffer.from(authSecret, 'base64url'),
});
const GRACE_S = 30;

interface Issued {
  token: string;
  identity: string;
  expiration: string;
}
type Refreshed = { outcome: 'refreshed' } & Issued;
type RefreshAnswer = Refreshed | { outcome: 'refused'; code: string };

forEachBackend('sessions at SAS', (db) => {
  let dir: string;
  let sas: ScopedAuthService;
  // Frozen at a whole second, so that `iat` (seconds) and the clock agree exactly.
  const start = Math.floor(Date.now() / 1000) * 1000;
  let offsetMs = 0;
  const now = () => new Date(start + offsetMs);
  const advance = (seconds: number) => {
    offsetMs += seconds * 1000;
  };
  const at = (secondsAfterStart: number) => new Date(start + secondsAfterStart * 1000).toISOString();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sessions-'));
    const config: ScopedAuthConfig = {
      host: '127.0.0.1',
      port: 0,
      keysDir: join(dir, 'keys'),
      keysReloadMs: 0,
      createKeys: true,
      authSecret: { value: authSecret, file: join(dir, 'unused') },
      issuer: 'urn:webchat:scoped-auth',
      audience: 'urn:webchat:widget',
      logLevel: 'silent',
      sessions: { ...inMemorySessions, ...db.options, reuseGraceSeconds: GRACE_S },
    };
    sas = await startScopedAuth(config, createLogger('test', 'silent'), { now });
  });
  after(async () => {
    await sas?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function post(path: string, body: unknown) {
    const res = await postAsService(asFas, `${sas.url}${path}`, body);
    assert.equal(res.status, 200, path);
    return (await res.json()) as Record<string, unknown>;
  }
  const issue = async (extra: Record<string, unknown> = {}) =>
    (await post('/v1/ScopedAuthTokens/generate/internal', {
      accountSid,
      grants,
      ttl: 3600,
      encrypt: true,
      ...extra,
    })) as unknown as Issued;
  const refresh = async (token: string, extra: Record<string, unknown> = {}) =>
    (await post('/v1/ScopedAuthTokens/refresh/internal', {
      accountSid,
      token,
      grants,
      ttl: 3600,
      ...extra,
    })) as unknown as RefreshAnswer;
  const validate = async (token: string, fingerprint?: string) =>
    (await post('/v1/ScopedAuthTokens/validate', { token, ...(fingerprint ? { fingerprint } : {}) }))
      .authorized;
  const refused = { outcome: 'refused', code: 'invalid_token' };
  const bound = { fingerprint: 'v1.fp-A', fingerprintLevel: 'medium' };

  void test('a token refreshes once: the successor keeps the identity and validates', async () => {
    const first = await issue(bound);
    advance(60);
    const next = (await refresh(first.token, bound)) as Refreshed;
    assert.equal(next.outcome, 'refreshed');
    assert.equal(next.identity, first.identity);
    assert.notEqual(next.token, first.token);
    assert.equal(next.expiration, new Date(now().getTime() + 3600_000).toISOString());
    assert.equal(await validate(next.token, 'v1.fp-A'), true);
    // The parent stays a valid access token until it expires: only its refresh is spent.
    assert.equal(await validate(first.token, 'v1.fp-A'), true);
  });

  void test('the same refresh again from the same browser within the grace window: the same successor', async () => {
    const first = await issue(bound);
    const next = (await refresh(first.token, bound)) as Refreshed;
    advance(GRACE_S - 1);
    const retry = await refresh(first.token, bound);
    assert.deepEqual(retry, next, 'a retry (or a second tab) gets exactly the token the first refresh made');
    assert.equal(await validate(next.token, 'v1.fp-A'), true);
    // An unbound token: the same token is the same browser.
    const open = await issue();
    const openNext = await refresh(open.token);
    assert.deepEqual(await refresh(open.token), openNext);
  });

  void test('a refresh of a spent token after the grace window: refused, and the whole session revoked', async () => {
    const first = await issue(bound);
    const second = (await refresh(first.token, bound)) as Refreshed;
    advance(60);
    const third = (await refresh(second.token, bound)) as Refreshed;
    assert.equal(third.outcome, 'refreshed');
    advance(GRACE_S + 1);
    // Someone replays the first token: two parties hold this session, so nobody keeps it.
    assert.deepEqual(await refresh(first.token, bound), refused);
    for (const token of [first.token, second.token, third.token]) {
      assert.equal(await validate(token, 'v1.fp-A'), false, 'every token of the session is revoked');
    }
    assert.deepEqual(await refresh(third.token, bound), refused, 'the latest token no longer refreshes');
    // Other sessions are untouched.
    const other = await issue(bound);
    assert.equal(await validate(other.token, 'v1.fp-A'), true);
  });

  void test('a repeat within the grace window from another browser is a reuse too', async () => {
    // An unbound token (webchat-security turned on since) refreshed from two browsers.
    const first = await issue();
    const mine = (await refresh(first.token, bound)) as Refreshed;
    assert.equal(mine.outcome, 'refreshed');
    assert.deepEqual(
      await refresh(first.token, { fingerprint: 'v1.fp-B', fingerprintLevel: 'medium' }),
      refused,
    );
    assert.equal(await validate(mine.token, 'v1.fp-A'), false, 'the session is revoked');
  });

  void test('fingerprint guessing: five refreshes with fingerprints that do not match revoke the session', async () => {
    const first = await issue(bound);
    const second = (await refresh(first.token, bound)) as Refreshed;
    const guess = (n: number) => ({ fingerprint: `v1.guess-${n}`, fingerprintLevel: 'medium' });
    const mismatch = { outcome: 'refused', code: 'fingerprint_validation_failed' };
    // Guesses on either token of the session count together; four leave it alive.
    for (let n = 1; n <= 4; n++)
      assert.deepEqual(await refresh((n % 2 ? first : second).token, guess(n)), mismatch);
    assert.equal(await validate(second.token, 'v1.fp-A'), true, 'four guesses: the session lives');
    assert.deepEqual(await refresh(second.token, guess(5)), mismatch);
    // The fifth revoked every token of the session: the right browser, too, is refused from now on.
    assert.equal(await validate(second.token, 'v1.fp-A'), false);
    assert.deepEqual(await refresh(second.token, bound), refused);
    const metrics = await (await fetch(`${sas.url}/metrics`)).text();
    assert.match(metrics, /sas_sessions_revoked_total\{reason="fingerprint_mismatch"[^}]*\} [1-9]/);
    // Another session of the same visitor's browser is untouched, and a missing fingerprint is no guess.
    const other = await issue(bound);
    for (let n = 0; n < 6; n++) {
      assert.deepEqual(await refresh(other.token), {
        outcome: 'refused',
        code: 'fingerprint_validation_failed',
      });
    }
    assert.equal(await validate(other.token, 'v1.fp-A'), true);
  });

  void test('key binding at refresh: a key-bound token needs its key, its successor stays bound; binding starts when asked', async () => {
    const key = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const other = 'Xzb8sXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const invalid = { outcome: 'refused', code: 'invalid_dpop_proof' };
    const bound = await issue({ jkt: key });
    assert.deepEqual(await refresh(bound.token), invalid, 'no proof');
    assert.deepEqual(await refresh(bound.token, { proofJkt: other, bindKey: true }), invalid, 'another key');
    const next = (await refresh(bound.token, { proofJkt: key, bindKey: false })) as Refreshed;
    assert.equal(
      next.outcome,
      'refreshed',
      'the key binding of the account may be off now: the token still needs it',
    );
    assert.deepEqual(
      await refresh(next.token, { proofJkt: other }),
      invalid,
      'the successor is bound to the key',
    );
    // An unbound token: bound from its refresh on when asked to, else left alone.
    const loose = await issue();
    const tied = (await refresh(loose.token, { proofJkt: key, bindKey: true })) as Refreshed;
    assert.deepEqual(await refresh(tied.token), invalid);
    const stillLoose = (await refresh((await issue()).token, { proofJkt: key, bindKey: false })) as Refreshed;
    assert.equal((await refresh(stillLoose.token)).outcome, 'refreshed');
  });

  void test('concurrent refreshes of one token mint one successor: every answer carries it', async () => {
    const first = await issue(bound);
    const answers = await Promise.all(Array.from({ length: 8 }, () => refresh(first.token, bound)));
    const tokens = new Set(answers.map((a) => (a as Refreshed).token));
    assert.ok(
      answers.every((a) => a.outcome === 'refreshed'),
      JSON.stringify(answers.map((a) => a.outcome)),
    );
    assert.equal(tokens.size, 1, 'one successor');
    const [successor] = [...tokens];
    assert.equal(await validate(successor!, 'v1.fp-A'), true);
  });

  void test('a session refreshes until SESSION_MAX_AGE_S after its first token, then is refused', async () => {
    const sessionStart = offsetMs / 1000;
    let current: Issued = await issue(bound);
    // Hourly tokens, refreshed every 50 minutes: the 28th refresh is the last one inside the 24 hours.
    for (let i = 1; i <= 28; i++) {
      advance(3000);
      const next = (await refresh(current.token, bound)) as Refreshed;
      assert.equal(next.outcome, 'refreshed', `refresh ${i}`);
      assert.equal(next.identity, current.identity);
      current = next;
    }
    // The last token ends with the session rather than an hour after its issue.
    assert.equal(current.expiration, at(sessionStart + 86_400));
    advance(86_401 - 28 * 3000);
    assert.deepEqual(await refresh(current.token, bound), refused);
  });

  void test("an account's own session maximum age caps its tokens and ends its sessions", async () => {
    const first = await issue({ sessionMaxAge: 600 });
    const issuedAt = offsetMs / 1000;
    assert.equal(first.expiration, at(issuedAt + 600), 'the token ends with its session');
    advance(300);
    const next = (await refresh(first.token, { sessionMaxAge: 600 })) as Refreshed;
    assert.equal(next.expiration, at(issuedAt + 600));
    // An account that lowers its maximum age ends older sessions at their next refresh.
    const long = await issue();
    advance(400);
    assert.deepEqual(await refresh(long.token, { sessionMaxAge: 300 }), refused);
    assert.equal((await refresh(long.token)).outcome, 'refreshed', 'under the default it still refreshes');
  });

  void test('a revoked identity: every token of that visitor is refused on validate and refresh', async () => {
    const visitor = await issue(bound);
    const visitorNext = (await refresh(visitor.token, bound)) as Refreshed;
    const bystander = await issue(bound);
    await sas.sessions.revokeIdentity(visitor.identity, now());
    for (const token of [visitor.token, visitorNext.token]) {
      assert.equal(await validate(token, 'v1.fp-A'), false);
    }
    assert.deepEqual(await refresh(visitorNext.token, bound), refused);
    assert.equal(await validate(bystander.token, 'v1.fp-A'), true);
  });

  void test('a revoked account: its tokens issued until then (and within the clock tolerance) are refused, later ones are not', async () => {
    const earlier = await issue();
    advance(1);
    await sas.sessions.revokeAccount(accountSid, now());
    assert.equal(await validate(earlier.token), false);
    assert.deepEqual(await refresh(earlier.token), refused);
    // What a SAS whose clock runs up to the tolerance ahead mints before the revocation is covered too.
    advance(TOKEN_CLOCK_TOLERANCE_SECONDS);
    assert.equal(await validate((await issue()).token), false);
    advance(1);
    const later = await issue();
    assert.equal(await validate(later.token), true);
    assert.equal((await refresh(later.token)).outcome, 'refreshed');
  });

  void test('refresh records and revocations are pruned once no token they cover can be valid', async () => {
    await sas.sessions.prune(now()); // what the earlier tests left behind, hours of clock ago
    const token = await issue();
    await refresh(token.token);
    await sas.sessions.revokeIdentity((await issue()).identity, now());
    assert.deepEqual(await sas.sessions.prune(now()), { refreshes: 0, revocations: 0 });
    const pruned = await sas.sessions.prune(new Date(now().getTime() + 2 * 86_400_000));
    assert.ok(pruned.refreshes >= 1 && pruned.revocations >= 1, JSON.stringify(pruned));
  });

  void test('the store never holds a successor token in clear', async () => {
    const first = await issue();
    const next = (await refresh(first.token)) as Refreshed;
    const database = await db.connect();
    try {
      const all = await dumpTables(database);
      assert.ok((await countRows(database, 'token_refreshes')) > 0);
      for (const secret of [next.token, Buffer.from(next.token).toString('hex'), 'eyJ']) {
        assert.equal(all.includes(secret), false);
      }
    } finally {
      await database.close();
    }
  });
});
