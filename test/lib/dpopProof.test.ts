import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWTHeaderParameters, SignJWT } from 'jose';
import { accessTokenHash, DpopProofError, verifyDpopProof } from '../../lib/dpop/dpopProof';

/** An in-memory replay cache, as lib/replayCache.ts behaves without Redis. */
function memoryReplay() {
  const seen = new Set<string>();
  return { firstUse: (id: string) => Promise.resolve(!seen.has(id) && Boolean(seen.add(id))) };
}

const url = 'https://chat.example.com/v2/Webchat/Token';
const now = new Date('2026-12-04T12:00:00Z');
const epoch = Math.floor(now.getTime() / 1000);

async function es256() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: await exportJWK(publicKey) };
}

interface ProofOptions {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  key?: Awaited<ReturnType<typeof es256>>;
}

async function proof({ header = {}, claims = {}, key }: ProofOptions = {}) {
  const { privateKey, jwk } = key ?? (await es256());
  return new SignJWT({ jti: randomUUID(), htm: 'POST', htu: url, iat: epoch, ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk, ...header })
    .sign(privateKey);
}

const check = (value: string, extra: { accessToken?: string; method?: string; url?: string } = {}) =>
  verifyDpopProof(value, { method: 'POST', url, replay: memoryReplay(), now: () => now, ...extra });

const refusedFor = (reason: string) => (err: unknown) => {
  assert.ok(err instanceof DpopProofError, String(err));
  assert.equal(err.reason, reason);
  return true;
};

describe('DPoP proofs (RFC 9449 §4.3)', () => {
  test('a valid proof gives the RFC 7638 thumbprint of its key', async () => {
    const key = await es256();
    const result = await check(await proof({ key }));
    assert.deepEqual(result, { jkt: await calculateJwkThumbprint(key.jwk, 'sha256') });
    assert.match(result.jkt, /^[A-Za-z0-9_-]{43}$/);
  });

  test('htu is compared without query and fragment, with a case-insensitive scheme and host', async () => {
    await check(await proof({ claims: { htu: 'HTTPS://Chat.Example.com:443/v2/Webchat/Token?x=1#f' } }));
  });

  test('each proof is accepted once; another proof of the same key is fine', async () => {
    const replay = memoryReplay();
    const key = await es256();
    const one = await proof({ key });
    const expect = { method: 'POST', url, replay, now: () => now };
    await verifyDpopProof(one, expect);
    await assert.rejects(verifyDpopProof(one, expect), refusedFor('replayed'));
    await verifyDpopProof(await proof({ key }), expect);
  });

  test('the header: typ, asymmetric alg, a public jwk', async () => {
    await assert.rejects(check(await proof({ header: { typ: 'JWT' } })), refusedFor('typ'));
    const hmac = await new SignJWT({ jti: randomUUID(), htm: 'POST', htu: url, iat: epoch })
      .setProtectedHeader({
        alg: 'HS256',
        typ: 'dpop+jwt',
        jwk: { kty: 'oct', k: 'c2VjcmV0' },
      } as JWTHeaderParameters)
      .sign(new TextEncoder().encode('secret-secret-secret-secret-1234'));
    await assert.rejects(check(hmac), refusedFor('alg'));
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'dpop+jwt' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ jti: randomUUID(), htm: 'POST', htu: url, iat: epoch }),
    ).toString('base64url')}.sig`;
    await assert.rejects(check(none), refusedFor('alg'));
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const withPrivate = await exportJWK(privateKey);
    await assert.rejects(
      check(await proof({ key: { privateKey, jwk: withPrivate } })),
      refusedFor('private_jwk'),
    );
    await assert.rejects(check(await proof({ header: { jwk: undefined } })), refusedFor('no_jwk'));
  });

  test('a signature by another key than the one in the header', async () => {
    const signer = await es256();
    const other = await es256();
    await assert.rejects(
      check(await proof({ key: { privateKey: signer.privateKey, jwk: other.jwk } })),
      (err) => {
        assert.ok(err instanceof DpopProofError);
        assert.equal(err.reason, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
        return true;
      },
    );
  });

  test('htm and htu must be this request’s', async () => {
    await assert.rejects(check(await proof({ claims: { htm: 'GET' } })), refusedFor('htm'));
    await assert.rejects(check(await proof(), { method: 'PUT' }), refusedFor('htm'));
    await assert.rejects(
      check(await proof({ claims: { htu: 'https://chat.example.com/v2/Webchat/Token/Refresh' } })),
      refusedFor('htu'),
    );
    await assert.rejects(
      check(await proof({ claims: { htu: 'https://evil.example/v2/Webchat/Token' } })),
      refusedFor('htu'),
    );
  });

  test('iat: within a minute, not ahead of the clock beyond the tolerance', async () => {
    await assert.rejects(check(await proof({ claims: { iat: epoch - 120 } })), (err: unknown) => {
      assert.ok(err instanceof DpopProofError);
      return true;
    });
    await assert.rejects(check(await proof({ claims: { iat: epoch + 60 } })), (err: unknown) => {
      assert.ok(err instanceof DpopProofError);
      return true;
    });
    await check(await proof({ claims: { iat: epoch - 30 } }));
  });

  test('with a token: ath must be its SHA-256', async () => {
    const token = 'eyJ.the-access-token.xyz';
    assert.equal(accessTokenHash(token), createHash('sha256').update(token).digest('base64url'));
    await check(await proof({ claims: { ath: accessTokenHash(token) } }), { accessToken: token });
    await assert.rejects(check(await proof(), { accessToken: token }), refusedFor('ath'));
    await assert.rejects(
      check(await proof({ claims: { ath: accessTokenHash('another token') } }), { accessToken: token }),
      refusedFor('ath'),
    );
  });

  test('jti must be there, not empty, not absurd', async () => {
    await assert.rejects(check(await proof({ claims: { jti: 'short' } })), refusedFor('jti'));
    await assert.rejects(check('not.a.jwt!'), refusedFor('malformed'));
  });
});
