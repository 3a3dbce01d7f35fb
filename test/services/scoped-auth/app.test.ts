import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  calculateJwkThumbprint,
  CompactEncrypt,
  compactDecrypt,
  createLocalJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
  type JSONWebKeySet,
} from 'jose';
import { createLogger } from '../../../lib/logger';
import { createServiceCredentials } from '../../../lib/serviceAuth';
import { postAsService } from '../../../scripts/stack/serviceAuthorization';
import type { ScopedAuthConfig } from '../../../services/scoped-auth/config';
import { loadOrCreateKeys, type KeyRing } from '../../../services/scoped-auth/keys';
import { startScopedAuth, type ScopedAuthService } from '../../../services/scoped-auth/start';
import { mintToken, type MintRequest } from '../../../services/scoped-auth/tokens';
import { inMemorySessions } from '../../helpers/sessions';

const issuer = 'urn:webchat:scoped-auth';
const audience = 'urn:webchat:widget';
const policy = { issuer, audience };
const accountSid = 'AC0123456789abcdef0123456789abcdef';
const grants = { webchat: { addressSid: 'IS0123456789abcdef0123456789abcdef' } };
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const silent = createLogger('test', 'silent');

const GENERATE = '/v1/ScopedAuthTokens/generate/internal';
const VALIDATE = '/v1/ScopedAuthTokens/validate';

/** The secret SAS verifies FAS's credentials with; every call below is made as FAS. */
const authSecret = randomBytes(32).toString('base64url');
const asFas = createServiceCredentials({
  issuer: 'federated-auth',
  audience: 'scoped-auth',
  secret: Buffer.from(authSecret, 'base64url'),
});

function config(keysDir: string): ScopedAuthConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    keysDir,
    keysReloadMs: 0,
    createKeys: true,
    sessions: inMemorySessions,
    authSecret: { value: authSecret, file: join(keysDir, 'unused') },
    issuer,
    audience,
    logLevel: 'silent',
  };
}

async function post(baseUrl: string, path: string, body: unknown) {
  const res = await postAsService(asFas, baseUrl + path, body);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

void describe('scoped auth service', () => {
  let dir: string;
  let sas: ScopedAuthService;
  const generate = (body: unknown) => post(sas.url, GENERATE, body);
  const validate = (body: unknown) => post(sas.url, VALIDATE, body);
  const issue = async (extra: Record<string, unknown> = {}) => {
    const res = await generate({ accountSid, grants, ttl: 600, encrypt: true, ...extra });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { token: string; identity: string; expiration: string };
  };
  const authorized = (issued: { identity: string; expiration: string }) => ({
    authorized: true,
    auth_account: { account_sid: accountSid },
    identity: issued.identity,
    grants,
    expiration: issued.expiration,
  });
  const tokenFailed = { authorized: false, message: 'token_validation_failed' };
  const fingerprintFailed = { authorized: false, message: 'fingerprint_validation_failed' };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sas-test-'));
    sas = await startScopedAuth(config(join(dir, 'keys')), silent);
  });
  after(async () => {
    await sas.close();
    await rm(dir, { recursive: true, force: true });
  });

  void describe('generate then validate', () => {
    void test('an unbound token validates, with or without a fingerprint', async () => {
      const before = Date.now();
      const res = await generate({ accountSid, grants, ttl: 600, encrypt: true });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.deepEqual(Object.keys(res.body).sort(), ['expiration', 'identity', 'token']);
      const issued = res.body as { token: string; identity: string; expiration: string };
      assert.match(issued.identity, uuid);
      const expiresIn = Date.parse(issued.expiration) - before;
      assert.ok(expiresIn > 598_000 && expiresIn <= 601_000, `expiration ${issued.expiration}`);
      assert.equal(new Date(issued.expiration).toISOString(), issued.expiration);

      const plain = await validate({ token: issued.token });
      assert.equal(plain.status, 200);
      assert.deepEqual(plain.body, authorized(issued));
      const withFp = await validate({ token: issued.token, fingerprint: 'v1.anything' });
      assert.deepEqual(withFp.body, authorized(issued));
    });

    void test('each token has a fresh identity', async () => {
      const a = await issue();
      const b = await issue();
      assert.notEqual(a.identity, b.identity);
    });

    void test('a bound token validates with its fingerprint', async () => {
      const issued = await issue({ fingerprint: 'v1.fp-A', fingerprintLevel: 'medium' });
      const res = await validate({ token: issued.token, fingerprint: 'v1.fp-A' });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, authorized(issued));
    });

    void test('a bound token with another fingerprint fails fingerprint validation', async () => {
      const { token } = await issue({ fingerprint: 'v1.fp-A', fingerprintLevel: 'high' });
      assert.deepEqual((await validate({ token, fingerprint: 'v1.fp-B' })).body, fingerprintFailed);
      assert.deepEqual((await validate({ token, fingerprint: 'v1.fp-AA' })).body, fingerprintFailed);
      assert.deepEqual((await validate({ token, fingerprint: 'v1.fp-' })).body, fingerprintFailed);
    });

    void test('a bound token without a fingerprint fails fingerprint validation', async () => {
      const { token } = await issue({ fingerprint: 'v1.fp-A', fingerprintLevel: 'low' });
      const res = await validate({ token });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, fingerprintFailed);
    });
  });

  void describe('refresh support (FAS only)', () => {
    // Refresh keeps an identity only through refresh/internal: naming one here could revive a revoked visitor.
    void test('generate refuses a caller-chosen identity with 400 invalid_request', async () => {
      const first = await issue();
      const again = await generate({ accountSid, grants, ttl: 600, encrypt: true, identity: first.identity });
      assert.equal(again.status, 400);
      assert.equal(again.body.code, 'invalid_request');
    });

    void test('validate/internal adds the binding level; the public validate never shows it', async () => {
      const bound = await issue({ fingerprint: 'v1.fp-A', fingerprintLevel: 'high' });
      const unbound = await issue();
      const internal = (body: unknown) => post(sas.url, `${VALIDATE}/internal`, body);
      assert.deepEqual((await internal({ token: bound.token, fingerprint: 'v1.fp-A' })).body, {
        ...authorized(bound),
        fingerprintLevel: 'high',
      });
      assert.deepEqual((await internal({ token: unbound.token })).body, {
        ...authorized(unbound),
        fingerprintLevel: null,
      });
      assert.deepEqual(
        (await internal({ token: bound.token, fingerprint: 'v1.fp-B' })).body,
        fingerprintFailed,
      );
      assert.deepEqual((await internal({ token: 'not-a-token' })).body, tokenFailed);
      assert.deepEqual(
        (await validate({ token: bound.token, fingerprint: 'v1.fp-A' })).body,
        authorized(bound),
      );
    });
  });

  void describe('token format', () => {
    void test('a nested JWT: JWE dir/A256GCM around an EdDSA JWS, with the claims of the request', async () => {
      const before = Math.floor(Date.now() / 1000);
      const issued = await issue({ fingerprint: 'v1.fp-A', fingerprintLevel: 'medium' });
      const jwks = (await (await fetch(`${sas.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
      const [publicJwk] = jwks.keys;
      assert.ok(publicJwk);

      const { plaintext, protectedHeader: jweHeader } = await compactDecrypt(
        issued.token,
        sas.keys.current.encryption.key,
      );
      assert.deepEqual(jweHeader, {
        alg: 'dir',
        enc: 'A256GCM',
        kid: sas.keys.current.encryption.kid,
        cty: 'JWT',
      });

      // Verified with the published key only, as a third party would.
      const { payload, protectedHeader: jwsHeader } = await jwtVerify(plaintext, createLocalJWKSet(jwks), {
        algorithms: ['EdDSA'],
      });
      assert.deepEqual(jwsHeader, {
        alg: 'EdDSA',
        kid: await calculateJwkThumbprint(publicJwk),
        typ: 'webchat+jwt',
      });

      const { jti, iat, sid } = payload;
      assert.match(String(jti), uuid);
      assert.notEqual(jti, issued.identity);
      assert.match(String(sid), uuid, 'a new session id');
      assert.notEqual(sid, jti);
      assert.ok(typeof iat === 'number' && iat >= before && iat <= before + 2);
      assert.deepEqual(payload, {
        iss: issuer,
        aud: audience,
        sub: accountSid,
        jti,
        iat,
        exp: iat + 600,
        identity: issued.identity,
        grants,
        sid,
        sst: iat,
        fp: 'v1.fp-A',
        fpl: 'medium',
      });
      assert.equal(issued.expiration, new Date((iat + 600) * 1000).toISOString());
    });

    void test('an unbound token carries no fingerprint claims', async () => {
      const { token } = await issue();
      const { plaintext } = await compactDecrypt(token, sas.keys.current.encryption.key);
      const { payload } = await jwtVerify(plaintext, sas.keys.current.signing.publicKey);
      assert.equal('fp' in payload, false);
      assert.equal('fpl' in payload, false);
    });
  });

  void describe('rejected tokens', () => {
    const mintRequest: MintRequest = { accountSid, grants, ttl: 600 };

    void test('a tampered token', async () => {
      const { token } = await issue();
      const parts = token.split('.');
      const ciphertext = parts[3] ?? '';
      const middle = Math.floor(ciphertext.length / 2);
      const flipped = ciphertext[middle] === 'A' ? 'B' : 'A';
      parts[3] = ciphertext.slice(0, middle) + flipped + ciphertext.slice(middle + 1);
      assert.deepEqual((await validate({ token: parts.join('.') })).body, tokenFailed);
      assert.deepEqual((await validate({ token: token.slice(0, -2) })).body, tokenFailed);
      assert.deepEqual((await validate({ token: 'not-a-token' })).body, tokenFailed);
    });

    void test('an expired token, while the same token minted now is valid', async () => {
      const hourAgo = () => new Date(Date.now() - 3600_000);
      const stale = await mintToken(sas.keys, mintRequest, { ...policy, now: hourAgo });
      const fresh = await mintToken(sas.keys, mintRequest, policy);
      assert.deepEqual((await validate({ token: stale.token })).body, tokenFailed);
      assert.deepEqual((await validate({ token: fresh.token })).body, authorized(fresh));
    });

    void test('a token expired just past the clock tolerance', async () => {
      // Expired by 6 s: outside the 5 s clock tolerance.
      const now = () => new Date(Date.now() - 66_000);
      const stale = await mintToken(sas.keys, { ...mintRequest, ttl: 60 }, { ...policy, now });
      assert.deepEqual((await validate({ token: stale.token })).body, tokenFailed);
    });

    void test('a token from other keys', async () => {
      const otherDir = await mkdtemp(join(tmpdir(), 'sas-other-'));
      try {
        const other = await loadOrCreateKeys(otherDir);
        const { token } = await mintToken(other, mintRequest, policy);
        assert.deepEqual((await validate({ token })).body, tokenFailed);
      } finally {
        await rm(otherDir, { recursive: true, force: true });
      }
    });

    void test('our encryption around a signature by another key that claims our kid', async () => {
      const otherDir = await mkdtemp(join(tmpdir(), 'sas-other-'));
      try {
        const other = await loadOrCreateKeys(otherDir);
        const forger: KeyRing = {
          ...sas.keys,
          current: {
            signing: { ...other.current.signing, kid: sas.keys.current.signing.kid },
            encryption: sas.keys.current.encryption,
          },
        };
        const { token } = await mintToken(forger, mintRequest, policy);
        assert.equal(decodeProtectedHeader(token).kid, sas.keys.current.encryption.kid);
        assert.deepEqual((await validate({ token })).body, tokenFailed);
      } finally {
        await rm(otherDir, { recursive: true, force: true });
      }
    });

    void test('another issuer or audience', async () => {
      const badIss = await mintToken(sas.keys, mintRequest, { ...policy, issuer: 'urn:someone-else' });
      const badAud = await mintToken(sas.keys, mintRequest, { ...policy, audience: 'urn:someone-else' });
      assert.deepEqual((await validate({ token: badIss.token })).body, tokenFailed);
      assert.deepEqual((await validate({ token: badAud.token })).body, tokenFailed);
    });

    void test('an unsigned JWT, a JWT without its typ, or a JWE without cty JWT', async () => {
      const { signing, encryption } = sas.keys.current;
      const claims = {
        identity: randomUUID(),
        grants,
        sid: randomUUID(),
        sst: Math.floor(Date.now() / 1000),
      };
      const encrypt = (jws: string, cty?: string) =>
        new CompactEncrypt(new TextEncoder().encode(jws))
          .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: encryption.kid, ...(cty ? { cty } : {}) })
          .encrypt(encryption.key);
      const sign = (typ?: string) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: 'EdDSA', kid: signing.kid, ...(typ ? { typ } : {}) })
          .setIssuer(issuer)
          .setAudience(audience)
          .setSubject(accountSid)
          .setJti(randomUUID())
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(signing.privateKey);
      const unsigned = new UnsecuredJWT(claims)
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(accountSid)
        .setIssuedAt()
        .setExpirationTime('10m')
        .encode();

      // Control: the hand-built token is accepted when every part is right.
      const good = await encrypt(await sign('webchat+jwt'), 'JWT');
      assert.equal(((await validate({ token: good })).body as { authorized: boolean }).authorized, true);

      for (const token of [
        await encrypt(unsigned, 'JWT'),
        await encrypt(await sign(), 'JWT'),
        await encrypt(await sign('JWT'), 'JWT'),
        await encrypt(await sign('webchat+jwt')),
      ]) {
        assert.deepEqual((await validate({ token })).body, tokenFailed);
      }
    });
  });

  void describe('request validation', () => {
    const ok = { accountSid, grants, ttl: 600, encrypt: true };
    const badGenerateBodies: [string, unknown][] = [
      ['missing accountSid', { ...ok, accountSid: undefined }],
      ['accountSid not AC + 32 hex', { ...ok, accountSid: 'AC0123456789ABCDEF0123456789ABCDEF' }],
      ['ttl below 60', { ...ok, ttl: 59 }],
      ['ttl above 86400', { ...ok, ttl: 86_401 }],
      ['ttl not an integer', { ...ok, ttl: 60.5 }],
      ['ttl as a string', { ...ok, ttl: '600' }],
      ['encrypt false', { ...ok, encrypt: false }],
      ['encrypt missing', { ...ok, encrypt: undefined }],
      ['grants without addressSid', { ...ok, grants: { webchat: {} } }],
      ['grants missing', { ...ok, grants: undefined }],
      ['fingerprint over 128 chars', { ...ok, fingerprint: 'x'.repeat(129), fingerprintLevel: 'low' }],
      ['fingerprint without level', { ...ok, fingerprint: 'v1.fp' }],
      ['level without fingerprint', { ...ok, fingerprintLevel: 'low' }],
      ['unknown level', { ...ok, fingerprint: 'v1.fp', fingerprintLevel: 'extreme' }],
      ['unknown field', { ...ok, fingerPrint: 'v1.fp' }],
      ['identity not a UUID', { ...ok, identity: 'visitor-1' }],
      ['an array', [ok]],
    ];
    for (const [name, body] of badGenerateBodies) {
      void test(`generate refuses ${name} with 400 invalid_request`, async () => {
        const res = await generate(body);
        assert.equal(res.status, 400);
        assert.equal(res.body.code, 'invalid_request');
        assert.match(String(res.body.message), /^Invalid body: /);
      });
    }

    void test('the 400 message names the bad field', async () => {
      const res = await generate({ ...ok, ttl: 59 });
      assert.match(String(res.body.message), /ttl/);
    });

    void test('generate accepts the limits: ttl 60 and 86400, a 128-char fingerprint', async () => {
      for (const body of [
        { ...ok, ttl: 60 },
        { ...ok, ttl: 86_400 },
        { ...ok, fingerprint: 'x'.repeat(128), fingerprintLevel: 'high' },
      ]) {
        assert.equal((await generate(body)).status, 200, JSON.stringify(body).slice(0, 80));
      }
    });

    for (const [name, body] of [
      ['missing token', {}],
      ['token not a string', { token: 42 }],
      ['fingerprint over 128 chars', { token: 'x', fingerprint: 'x'.repeat(129) }],
    ] as const) {
      void test(`validate refuses ${name} with 400 invalid_request`, async () => {
        const res = await validate(body);
        assert.equal(res.status, 400);
        assert.equal(res.body.code, 'invalid_request');
      });
    }

    void test('malformed JSON is 400 invalid_request', async () => {
      const res = await postAsService(asFas, sas.url + GENERATE, '{"accountSid":');
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { code: string }).code, 'invalid_request');
    });

    void test('a body that is not JSON is 415 unsupported_media_type', async () => {
      for (const path of [GENERATE, VALIDATE]) {
        const res = await postAsService(asFas, sas.url + path, 'accountSid=AC0', {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        assert.equal(res.status, 415);
        assert.deepEqual(await res.json(), {
          code: 'unsupported_media_type',
          message: 'Send application/json.',
        });
      }
    });

    void test('a wrong method is 405 JSON', async () => {
      const res = await fetch(sas.url + '/.well-known/jwks.json', {
        method: 'DELETE',
      });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'HEAD, GET');
      assert.deepEqual(await res.json(), { code: 'method_not_allowed', message: 'Method not allowed.' });
    });
  });

  void describe('operations', () => {
    void test('GET /.well-known/jwks.json lists the public signing key only, to anyone', async () => {
      const res = await fetch(`${sas.url}/.well-known/jwks.json`);
      assert.equal(res.status, 200);
      const ring = JSON.parse(await readFile(join(dir, 'keys', 'keyring.json'), 'utf8')) as {
        signing: Record<string, string>[];
      };
      const stored = ring.signing[0] ?? {};
      const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: stored.x });
      assert.deepEqual(await res.json(), {
        keys: [{ kty: 'OKP', crv: 'Ed25519', x: stored.x, kid, alg: 'EdDSA', use: 'sig' }],
      });
    });

    void test('GET /healthz, to anyone', async () => {
      const res = await fetch(`${sas.url}/healthz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ok' });
    });
  });
});

void describe('scoped auth keys', () => {
  void test('are created with mode 0600 in a 0700 folder, and reloaded identically on restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sas-keys-'));
    try {
      const keysDir = join(dir, 'keys');
      const first = await startScopedAuth(config(keysDir), silent);
      const jwksBefore = await (await fetch(`${first.url}/.well-known/jwks.json`)).text();
      const issued = await post(first.url, GENERATE, {
        accountSid,
        grants,
        ttl: 600,
        encrypt: true,
        fingerprint: 'v1.fp',
        fingerprintLevel: 'low',
      });
      await first.close();

      assert.equal((await stat(keysDir)).mode & 0o777, 0o700);
      assert.equal((await stat(join(keysDir, 'keyring.json'))).mode & 0o777, 0o600);
      const ring = JSON.parse(await readFile(join(keysDir, 'keyring.json'), 'utf8')) as {
        signing: Record<string, string>[];
        encryption: Record<string, string>[];
      };
      assert.equal(ring.signing.length, 1);
      assert.equal(ring.encryption.length, 1);
      const [signing = {}] = ring.signing;
      const [encryption = {}] = ring.encryption;
      assert.equal(signing.kid, first.keys.current.signing.kid);
      assert.equal(encryption.kid, first.keys.current.encryption.kid);
      assert.equal(Buffer.from(encryption.k ?? '', 'base64url').length, 32);

      const second = await startScopedAuth(config(keysDir), silent);
      try {
        assert.equal(await (await fetch(`${second.url}/.well-known/jwks.json`)).text(), jwksBefore);
        assert.equal(second.keys.current.encryption.kid, first.keys.current.encryption.kid);
        const token = (issued.body as { token: string }).token;
        const res = await post(second.url, VALIDATE, { token, fingerprint: 'v1.fp' });
        assert.equal((res.body as { authorized: boolean }).authorized, true);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test('concurrent first starts agree on one key pair', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sas-keys-'));
    try {
      const rings = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateKeys(dir)));
      const kids = new Set(rings.map((r) => `${r.current.signing.kid} ${r.current.encryption.kid}`));
      assert.equal(kids.size, 1);
      const [ring] = rings;
      assert.ok(ring);
      // A token from one ring validates in another: the secret key is the same, not just the kid.
      const other = rings[7];
      assert.ok(other);
      const { token } = await mintToken(ring, { accountSid, grants, ttl: 600 }, policy);
      const { plaintext } = await compactDecrypt(token, other.current.encryption.key);
      await jwtVerify(plaintext, other.current.signing.publicKey);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test('a key file readable by others is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sas-keys-'));
    try {
      await loadOrCreateKeys(dir);
      await chmod(join(dir, 'keyring.json'), 0o644);
      await assert.rejects(loadOrCreateKeys(dir), /keyring\.json is accessible by group or others/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test('a corrupt key file stops the start without printing its content', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sas-keys-'));
    try {
      await loadOrCreateKeys(dir);
      const path = join(dir, 'keyring.json');
      const secret = (JSON.parse(await readFile(path, 'utf8')) as { encryption: { k: string }[] })
        .encryption[0]!.k;
      await writeFile(path, `{"encryption":[{"k":"${secret}"}`);
      await assert.rejects(loadOrCreateKeys(dir), (err: Error) => {
        assert.match(err.message, /keyring\.json is not valid JSON/);
        assert.equal(err.message.includes(secret), false);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
