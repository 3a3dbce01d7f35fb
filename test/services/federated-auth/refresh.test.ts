import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FingerprintSensitivity } from '../../../domain/contracts';
import type { Served } from '../../../lib/http/serve';
import { createLogger } from '../../../lib/logger';
import { createServiceCredentials, requestTarget, type ServiceCredentials } from '../../../lib/serviceAuth';
import { startFederatedAuth } from '../../../services/federated-auth/start';
import { loadOrCreateKeys } from '../../../services/scoped-auth/keys';
import { startScopedAuth, type ScopedAuthService } from '../../../services/scoped-auth/start';
import { mintToken } from '../../../services/scoped-auth/tokens';
import { inMemorySessions } from '../../helpers/sessions';

/** FAS `POST /v1/Accounts/{accountSid}/Tokens/refresh` against a real SAS. */
const accountSid = 'AC0123456789abcdef0123456789abcdef';
const otherAccountSid = 'ACfedcba9876543210fedcba9876543210';
const grants = { webchat: { addressSid: 'IS0123456789abcdef0123456789abcdef' } };
const newGrants = { webchat: { addressSid: 'IS00000000000000000000000000000042' } };
const policy = { issuer: 'urn:webchat:scoped-auth', audience: 'urn:webchat:widget' };
const fasSecret = randomBytes(32);
const sasSecret = randomBytes(32);
const asOrchestrator = createServiceCredentials({
  issuer: 'orchestrator',
  audience: 'federated-auth',
  secret: fasSecret,
});
const asFas = createServiceCredentials({
  issuer: 'federated-auth',
  audience: 'scoped-auth',
  secret: sasSecret,
});

interface Issued {
  token: string;
  identity: string;
  expiration: string;
}

/** A POST with a credential of `credentials`' holder made for it; the header is returned for the log checks. */
async function post(url: string, body: unknown, credentials: Promise<ServiceCredentials>) {
  const text = JSON.stringify(body);
  const authorization = await (
    await credentials
  ).authorization({ method: 'POST', path: requestTarget(url), body: text });
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: text,
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as Record<string, unknown>,
    authorization,
  };
}

void describe('token refresh (FAS, with a real SAS)', () => {
  let dir: string;
  let sas: ScopedAuthService;
  let fas: Served;
  const logLines: string[] = [];
  const logger = createLogger('test', 'info', { write: (line: string) => void logLines.push(line) });
  // SAS's clock runs with real time; the session tests at the end move it forward.
  let skewMs = 0;
  const sasNow = () => new Date(Date.now() + skewMs);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'refresh-'));
    sas = await startScopedAuth(
      {
        host: '127.0.0.1',
        port: 0,
        keysDir: join(dir, 'keys'),
        keysReloadMs: 0,
        createKeys: true,
        sessions: inMemorySessions,
        authSecret: { value: sasSecret.toString('base64url'), file: join(dir, 'unused') },
        ...policy,
        logLevel: 'info',
      },
      logger,
      { now: sasNow },
    );
    fas = await startFederatedAuth(
      {
        host: '127.0.0.1',
        port: 0,
        sasUrl: sas.url,
        sasTimeoutMs: 2000,
        authSecret: { value: fasSecret.toString('base64url'), file: join(dir, 'unused') },
        sasAuthSecret: { value: sasSecret.toString('base64url'), file: join(dir, 'unused') },
        logLevel: 'info',
      },
      logger,
    );
  });
  after(async () => {
    await fas.close();
    await sas.close();
    await rm(dir, { recursive: true, force: true });
  });

  const issue = async (binding?: { fingerprint: string; fingerprintLevel: FingerprintSensitivity }) => {
    const res = await post(
      `${fas.url}/v1/Accounts/${accountSid}/Tokens`,
      { grants, ttl: 600, ...binding },
      asOrchestrator,
    );
    assert.equal(res.status, 200);
    return res.body as unknown as Issued;
  };
  const refresh = async (body: Record<string, unknown>, sid = accountSid) =>
    post(`${fas.url}/v1/Accounts/${sid}/Tokens/refresh`, { grants, ttl: 900, ...body }, asOrchestrator);
  /** What SAS knows about a token, binding level included. */
  const inspect = async (token: string, fingerprint?: string) =>
    (
      await post(
        `${sas.url}/v1/ScopedAuthTokens/validate/internal`,
        { token, ...(fingerprint ? { fingerprint } : {}) },
        asFas,
      )
    ).body;
  const invalidToken = {
    valid: false,
    code: 'invalid_token',
    message: 'The token is invalid, expired or not for this deployment key.',
  };
  const fingerprintFailed = {
    valid: false,
    code: 'fingerprint_validation_failed',
    message: 'The token belongs to another browser.',
  };

  void test('a bound token refreshed from the same browser: same identity, new expiry, still bound at its level', async () => {
    const old = await issue({ fingerprint: 'v1.fp-A', fingerprintLevel: 'medium' });
    const before = Date.now();
    const res = await refresh({ token: old.token, fingerprint: 'v1.fp-A', fingerprintLevel: 'medium' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(res.body).sort(), ['expiration', 'identity', 'token']);
    const fresh = res.body as unknown as Issued;
    assert.equal(fresh.identity, old.identity);
    assert.notEqual(fresh.token, old.token);
    const expiresIn = Date.parse(fresh.expiration) - before;
    assert.ok(expiresIn > 898_000 && expiresIn <= 901_000, fresh.expiration);

    assert.deepEqual(await inspect(fresh.token, 'v1.fp-A'), {
      authorized: true,
      auth_account: { account_sid: accountSid },
      identity: old.identity,
      grants,
      expiration: fresh.expiration,
      fingerprintLevel: 'medium',
    });
    assert.deepEqual(await inspect(fresh.token, 'v1.fp-B'), {
      authorized: false,
      message: 'fingerprint_validation_failed',
    });
  });

  void test('the new token carries the grants and ttl of the request, not the old token’s', async () => {
    const old = await issue();
    const res = await refresh({ token: old.token, grants: newGrants, ttl: 120 });
    assert.equal(res.status, 200);
    const fresh = res.body as unknown as Issued;
    const checked = await inspect(fresh.token);
    assert.deepEqual(checked.grants, newGrants);
    assert.ok(Date.parse(fresh.expiration) - Date.now() <= 120_000);
  });

  void test('a refreshed token refreshes again, keeping the identity', async () => {
    const first = await issue({ fingerprint: 'v1.fp-A', fingerprintLevel: 'low' });
    const second = (await refresh({ token: first.token, fingerprint: 'v1.fp-A', fingerprintLevel: 'low' }))
      .body as unknown as Issued;
    const third = await refresh({ token: second.token, fingerprint: 'v1.fp-A', fingerprintLevel: 'low' });
    assert.equal(third.status, 200);
    assert.equal(third.body.identity, first.identity);
  });

  void test('a bound token from another browser: 403 fingerprint_validation_failed', async () => {
    const old = await issue({ fingerprint: 'v1.fp-A', fingerprintLevel: 'high' });
    const res = await refresh({ token: old.token, fingerprint: 'v1.fp-B', fingerprintLevel: 'high' });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(res.body, fingerprintFailed);
  });

  void test('a bound token refreshed without a fingerprint (flag turned off since): 403 fingerprint_validation_failed', async () => {
    const old = await issue({ fingerprint: 'v1.fp-A', fingerprintLevel: 'medium' });
    const res = await refresh({ token: old.token });
    assert.equal(res.status, 403);
    assert.deepEqual(res.body, fingerprintFailed);
  });

  void test('an unbound token without a fingerprint stays unbound', async () => {
    const old = await issue();
    const res = await refresh({ token: old.token });
    assert.equal(res.status, 200);
    assert.equal(res.body.identity, old.identity);
    const checked = await inspect(String(res.body.token));
    assert.equal(checked.authorized, true);
    assert.equal(checked.fingerprintLevel, null);
  });

  void test('an unbound token with a fingerprint (flag turned on since) becomes bound at that level', async () => {
    const old = await issue();
    const res = await refresh({ token: old.token, fingerprint: 'v1.fp-C', fingerprintLevel: 'low' });
    assert.equal(res.status, 200);
    assert.equal(res.body.identity, old.identity);
    const token = String(res.body.token);
    assert.equal((await inspect(token, 'v1.fp-C')).fingerprintLevel, 'low');
    assert.deepEqual(await inspect(token), { authorized: false, message: 'fingerprint_validation_failed' });
  });

  void test('an expired token: 403 invalid_token', async () => {
    const stale = await mintToken(
      sas.keys,
      { accountSid, grants, ttl: 60 },
      { ...policy, now: () => new Date(Date.now() - 3600_000) },
    );
    const res = await refresh({ token: stale.token });
    assert.equal(res.status, 403);
    assert.deepEqual(res.body, invalidToken);
  });

  void test('a tampered token: 403 invalid_token', async () => {
    const { token } = await issue();
    const parts = token.split('.');
    const tag = parts[4] ?? '';
    parts[4] = (tag[0] === 'A' ? 'B' : 'A') + tag.slice(1);
    const res = await refresh({ token: parts.join('.') });
    assert.equal(res.status, 403);
    assert.deepEqual(res.body, invalidToken);
  });

  void test('a token of another account: 403 invalid_token, and no token for either account', async () => {
    const { token } = await issue();
    const res = await refresh({ token }, otherAccountSid);
    assert.equal(res.status, 403);
    assert.deepEqual(res.body, invalidToken);
  });

  void test('a token from keys SAS does not hold: 403 invalid_token', async () => {
    const other = await loadOrCreateKeys(join(dir, 'other-keys'));
    const { token } = await mintToken(other, { accountSid, grants, ttl: 600 }, policy);
    const res = await refresh({ token });
    assert.equal(res.status, 403);
    assert.deepEqual(res.body, invalidToken);
  });

  const badBodies: [string, Record<string, unknown>][] = [
    ['no token', { token: undefined }],
    ['an empty token', { token: '' }],
    ['a token over 8192 chars', { token: 'x'.repeat(8193) }],
    ['a fingerprint without its level', { token: 'x', fingerprint: 'v1.fp' }],
    ['ttl below 60', { token: 'x', ttl: 10 }],
    ['an identity chosen by the caller', { token: 'x', identity: '6f1c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f' }],
  ];
  for (const [name, body] of badBodies) {
    void test(`refuses ${name} with 400 invalid_request`, async () => {
      const res = await refresh(body);
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'invalid_request');
    });
  }

  void test('no line FAS or SAS logged carries a token, a fingerprint or a credential', async () => {
    const old = await issue({ fingerprint: 'v1.secret-fp-refresh', fingerprintLevel: 'medium' });
    const res = await post(
      `${fas.url}/v1/Accounts/${accountSid}/Tokens/refresh`,
      { token: old.token, grants, ttl: 600, fingerprint: 'v1.secret-fp-refresh', fingerprintLevel: 'medium' },
      asOrchestrator,
    );
    const { authorization } = res;
    assert.equal(res.status, 200);
    await refresh({ token: old.token, fingerprint: 'v1.other-secret-fp', fingerprintLevel: 'medium' });
    await new Promise((r) => setImmediate(r));
    // One access line per request at FAS, with the account and the identity or the refusal's code.
    const fasLines = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'request' && /^\/v1\/Accounts\/.*\/Tokens\/refresh$/.test(String(l.path)));
    assert.ok(
      fasLines.some((l) => l.status === 200 && l.accountSid === accountSid && l.identity === old.identity),
    );
    assert.ok(fasLines.some((l) => l.status === 403 && l.refused === 'fingerprint_validation_failed'));
    const all = logLines.join('');
    for (const secret of [
      old.token,
      String(res.body.token),
      'v1.secret-fp-refresh',
      'v1.other-secret-fp',
      authorization.slice('Bearer '.length),
      // Any JWT: FAS's own credentials for SAS included.
      'eyJ',
    ]) {
      assert.equal(all.includes(secret), false, `a log line carries ${secret.slice(0, 12)}…`);
    }
  });

  // Sessions (SAS keeps the state; FAS passes the answer through). These move SAS's clock, so they come last.
  void test('a token refreshes once: the same refresh again within the grace window gets the same successor', async () => {
    const old = await issue({ fingerprint: 'v1.fp-A', fingerprintLevel: 'medium' });
    const body = { token: old.token, fingerprint: 'v1.fp-A', fingerprintLevel: 'medium' };
    const first = await refresh(body);
    assert.equal(first.status, 200);
    skewMs += 20_000;
    const retry = await refresh(body);
    assert.equal(retry.status, 200);
    assert.deepEqual(retry.body, first.body);
  });

  void test('a refresh of an already-refreshed token after the grace window: 403 invalid_token, the session revoked', async () => {
    const old = await issue();
    const first = await refresh({ token: old.token });
    assert.equal(first.status, 200);
    skewMs += 31_000;
    const reuse = await refresh({ token: old.token });
    assert.equal(reuse.status, 403);
    assert.deepEqual(reuse.body, invalidToken);
    assert.deepEqual(await inspect(String(first.body.token)), {
      authorized: false,
      message: 'token_validation_failed',
    });
    const successor = await refresh({ token: String(first.body.token) });
    assert.equal(successor.status, 403, 'the successor no longer refreshes');
  });

  void test("the account's session maximum age travels to SAS: past it, 403 invalid_token", async () => {
    const old = await issue();
    skewMs += 61_000;
    const past = await refresh({ token: old.token, sessionMaxAge: 60 });
    assert.equal(past.status, 403);
    assert.deepEqual(past.body, invalidToken);
    const withDefault = await refresh({ token: old.token });
    assert.equal(withDefault.status, 200, 'within the service default it refreshes');
  });
});

void describe('token refresh while SAS is unreachable', () => {
  void test('503 unavailable, and the error line FAS logs carries no token, fingerprint or credential', async () => {
    const lines: string[] = [];
    const fas = await startFederatedAuth(
      {
        host: '127.0.0.1',
        port: 0,
        sasUrl: 'http://127.0.0.1:9', // discard port: nothing listens
        sasTimeoutMs: 500,
        authSecret: { value: fasSecret.toString('base64url'), file: '/nonexistent/unused' },
        sasAuthSecret: { value: sasSecret.toString('base64url'), file: '/nonexistent/unused' },
        logLevel: 'info',
      },
      createLogger('test', 'info', { write: (line: string) => void lines.push(line) }),
    );
    try {
      const res = await post(
        `${fas.url}/v1/Accounts/${accountSid}/Tokens/refresh`,
        { token: 'tok.en-secret', grants, ttl: 600, fingerprint: 'v1.fp-secret', fingerprintLevel: 'low' },
        asOrchestrator,
      );
      assert.equal(res.status, 503);
      assert.equal(res.body.code, 'unavailable');
      await new Promise((r) => setImmediate(r));
      assert.ok(lines.some((l) => l.includes('"msg":"request failed"')));
      const all = lines.join('');
      for (const secret of ['tok.en-secret', 'v1.fp-secret', 'eyJ']) {
        assert.equal(all.includes(secret), false, secret);
      }
    } finally {
      await fas.close();
    }
  });
});
