import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { createServiceCredentials, loadServiceSecret } from '../../lib/serviceAuth';

const secret = randomBytes(32);
const at = (iso: string) => () => new Date(iso);

void describe('service credentials', () => {
  void test('an HS256 service+jwt from the caller to the callee, living 60 s', async () => {
    const creds = await createServiceCredentials({
      issuer: 'orchestrator',
      audience: 'federated-auth',
      secret,
      now: at('2026-11-26T12:00:00Z'),
    });
    const header = await creds.authorization();
    assert.match(header, /^Bearer /);
    const jwt = header.slice('Bearer '.length);
    assert.deepEqual(decodeProtectedHeader(jwt), { alg: 'HS256', typ: 'service+jwt' });
    const { payload } = await jwtVerify(jwt, secret, {
      algorithms: ['HS256'],
      currentDate: new Date('2026-11-26T12:00:30Z'),
    });
    const iat = Date.parse('2026-11-26T12:00:00Z') / 1000;
    assert.deepEqual(payload, {
      iss: 'orchestrator',
      aud: 'federated-auth',
      jti: payload.jti,
      iat,
      exp: iat + 60,
    });
  });

  void test('reused for the first half of its life, then renewed', async () => {
    let now = new Date('2026-11-26T12:00:00Z');
    const creds = await createServiceCredentials({
      issuer: 'federated-auth',
      audience: 'scoped-auth',
      secret,
      now: () => now,
    });
    const first = await creds.authorization();
    now = new Date('2026-11-26T12:00:29Z');
    assert.equal(await creds.authorization(), first);
    now = new Date('2026-11-26T12:00:30Z');
    const second = await creds.authorization();
    assert.notEqual(second, first);
    assert.equal(decodeJwt(second.slice(7)).iat, Date.parse('2026-11-26T12:00:30Z') / 1000);
  });

  void test('a lifetime over 60 s is refused up front', async () => {
    for (const ttlSeconds of [0, 61, 3600, 1.5]) {
      await assert.rejects(
        createServiceCredentials({ issuer: 'orchestrator', audience: 'federated-auth', secret, ttlSeconds }),
        /ttlSeconds must be an integer from 1 to 60/,
      );
    }
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
