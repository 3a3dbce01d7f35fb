import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { bodyHash, createServiceCredentials, loadServiceSecret, requestTarget } from '../../lib/serviceAuth';

const secret = randomBytes(32);
const at = (iso: string) => () => new Date(iso);
const request = { method: 'post', path: '/v1/Accounts/AC1/Tokens', body: '{"ttl":600}' };

void describe('service credentials', () => {
  void test('an HS256 service+jwt from the caller to the callee for one request: method, path, body hash, 10 s', async () => {
    const creds = await createServiceCredentials({
      issuer: 'orchestrator',
      audience: 'federated-auth',
      secret,
      now: at('2026-11-26T12:00:00Z'),
    });
    const header = await creds.authorization(request);
    assert.match(header, /^Bearer /);
    const jwt = header.slice('Bearer '.length);
    assert.deepEqual(decodeProtectedHeader(jwt), { alg: 'HS256', typ: 'service+jwt' });
    const { payload } = await jwtVerify(jwt, secret, {
      algorithms: ['HS256'],
      currentDate: new Date('2026-11-26T12:00:05Z'),
    });
    const iat = Date.parse('2026-11-26T12:00:00Z') / 1000;
    assert.deepEqual(payload, {
      htm: 'POST',
      htp: '/v1/Accounts/AC1/Tokens',
      bsh: createHash('sha256').update('{"ttl":600}').digest('base64url'),
      iss: 'orchestrator',
      aud: 'federated-auth',
      jti: payload.jti,
      iat,
      exp: iat + 10,
    });
  });

  void test('a new credential, with a new jti, for every request, even the same one', async () => {
    const creds = await createServiceCredentials({
      issuer: 'federated-auth',
      audience: 'scoped-auth',
      secret,
    });
    const [a, b] = [await creds.authorization(request), await creds.authorization(request)];
    assert.notEqual(a, b);
    assert.notEqual(decodeJwt(a.slice(7)).jti, decodeJwt(b.slice(7)).jti);
  });

  void test('a lifetime over 10 s is refused up front', async () => {
    for (const ttlSeconds of [0, 11, 60, 1.5]) {
      await assert.rejects(
        createServiceCredentials({ issuer: 'orchestrator', audience: 'federated-auth', secret, ttlSeconds }),
        /ttlSeconds must be an integer from 1 to 10/,
      );
    }
  });

  void test('the body hash covers bytes as sent; the request target keeps the path and query of a URL', () => {
    assert.equal(bodyHash(''), '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU');
    assert.equal(bodyHash(Buffer.from('{"a":1}')), bodyHash('{"a":1}'));
    assert.notEqual(bodyHash('{"a":1}'), bodyHash('{"a": 1}'));
    assert.equal(
      requestTarget('http://fas:3001/prefix/v1/Accounts/AC1/Tokens?x=1'),
      '/prefix/v1/Accounts/AC1/Tokens?x=1',
    );
  });
});

void describe('service secrets', () => {
  void test('from the environment: base64url of at least 32 bytes', async () => {
    const value = randomBytes(48).toString('base64url');
    assert.deepEqual(
      Buffer.from(await loadServiceSecret({ value, file: '/nonexistent' })),
      Buffer.from(value, 'base64url'),
    );
    await assert.rejects(
      loadServiceSecret({ value: randomBytes(16).toString('base64url'), file: '/nonexistent' }),
      /at least 32 bytes/,
    );
  });

  void test('else from a file, generated once with mode 0600 and shared by every reader', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'service-secret-'));
    try {
      const file = join(dir, 'secrets', 'fas-auth.key');
      const [a, b] = await Promise.all([loadServiceSecret({ file }), loadServiceSecret({ file })]);
      assert.deepEqual(Buffer.from(a), Buffer.from(b));
      assert.equal(a.length, 32);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal((await readFile(file, 'utf8')).trim(), Buffer.from(a).toString('base64url'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
