import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TOKEN_CLOCK_TOLERANCE_SECONDS } from '../../domain/tokenClock';
import { createLogger } from '../../lib/logger';
import { createServiceCredentials } from '../../lib/serviceAuth';
import { postAsService } from '../../scripts/stack/serviceAuthorization';
import type { ScopedAuthConfig } from '../../services/scoped-auth/config';
import { startScopedAuth, type ScopedAuthService } from '../../services/scoped-auth/start';
import { inMemorySessions } from '../helpers/sessions';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../helpers/testDatabase';
import { json, spawnCli } from './runCli';

// `npm run admin -- token revoke` as a process of its own, against the store SAS reads; then SAS over HTTP.
const accountSid = 'AC0123456789abcdef0123456789abcdef';
const grants = { webchat: { addressSid: 'IS0123456789abcdef0123456789abcdef' } };
const authSecret = randomBytes(32).toString('base64url');
const asFas = createServiceCredentials({
  issuer: 'federated-auth',
  audience: 'scoped-auth',
  secret: Buffer.from(authSecret, 'base64url'),
});
const timeout = 120_000;

interface Issued {
  token: string;
  identity: string;
}

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'token-revoke-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function sasConfig(sessions: Partial<ScopedAuthConfig['sessions']>): ScopedAuthConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    keysDir: join(root, 'keys'),
    keysReloadMs: 0,
    createKeys: true,
    authSecret: { value: authSecret, file: join(root, 'unused') },
    issuer: 'urn:webchat:scoped-auth',
    audience: 'urn:webchat:widget',
    logLevel: 'silent',
    sessions: { ...inMemorySessions, ...sessions },
  };
}
const startSas = (sessions: Partial<ScopedAuthConfig['sessions']>) =>
  startScopedAuth(sasConfig(sessions), createLogger('test', 'silent'));

async function post(sas: ScopedAuthService, path: string, body: unknown) {
  const res = await postAsService(asFas, `${sas.url}${path}`, body);
  assert.equal(res.status, 200, path);
  return (await res.json()) as Record<string, unknown>;
}
const issue = async (sas: ScopedAuthService) =>
  (await post(sas, '/v1/ScopedAuthTokens/generate/internal', {
    accountSid,
    grants,
    ttl: 600,
    encrypt: true,
  })) as unknown as Issued;
const refresh = async (sas: ScopedAuthService, token: string) =>
  (await post(sas, '/v1/ScopedAuthTokens/refresh/internal', {
    accountSid,
    token,
    grants,
    ttl: 600,
  })) as unknown as {
    outcome: string;
    token: string;
  };
const valid = async (sas: ScopedAuthService, token: string) =>
  (await post(sas, '/v1/ScopedAuthTokens/validate', { token })).authorized === true;

void describe(
  'token revoke on PostgreSQL, with two SAS instances running',
  { skip: postgresUnavailable() ?? false },
  () => {
    let schema: TestSchema;
    let sasA: ScopedAuthService;
    let sasB: ScopedAuthService;
    before(async () => {
      schema = await createTestSchema('revoke');
      sasA = await startSas({ databaseUrl: schema.url });
      sasB = await startSas({ databaseUrl: schema.url });
    });
    after(async () => {
      await sasB?.close();
      await sasA?.close();
      await schema?.drop();
    });

    void test(
      '--identity: every token of that visitor is refused by every instance at once',
      { timeout },
      async () => {
        const visitor = await issue(sasA);
        const successor = await refresh(sasA, visitor.token);
        assert.equal(successor.outcome, 'refreshed');
        const bystander = await issue(sasB);

        const run = await spawnCli(['token', 'revoke', '--identity', visitor.identity, '--json'], {
          DATABASE_URL: schema.url,
        });
        const { revocation } = json<{ revocation: { kind: string; subject: string; expiresAt: string } }>(
          run,
        );
        assert.equal(revocation.kind, 'identity');
        assert.equal(revocation.subject, visitor.identity);
        assert.ok(
          Date.parse(revocation.expiresAt) > Date.now() + 86_000_000,
          'kept as long as a token can live',
        );

        for (const sas of [sasA, sasB]) {
          assert.equal(await valid(sas, visitor.token), false);
          assert.equal(await valid(sas, successor.token), false);
          assert.equal(await valid(sas, bystander.token), true, 'another visitor is not affected');
        }
        assert.deepEqual(await refresh(sasB, successor.token), { outcome: 'refused', code: 'invalid_token' });
      },
    );

    void test(
      '--account: the account’s tokens issued until now are refused, by the database’s clock; later ones work',
      { timeout },
      async () => {
        const earlier = await issue(sasA);
        // A SAS whose clock runs 3 s ahead mints a token just before the revocation: its `iat` is in the
        // operator's future, but the cut-off is the database's clock plus the verifier's tolerance.
        const ahead = await startScopedAuth(
          sasConfig({ databaseUrl: schema.url }),
          createLogger('test', 'silent'),
          {
            now: () => new Date(Date.now() + 3000),
          },
        );
        const fromTheFuture = await issue(ahead).finally(() => ahead.close());
        const run = await spawnCli(['token', 'revoke', '--account', accountSid], {
          DATABASE_URL: schema.url,
        });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, new RegExp(`^Revoked every token of account ${accountSid} issued until `));
        for (const sas of [sasA, sasB]) {
          assert.equal(await valid(sas, earlier.token), false);
          assert.equal(await valid(sas, fromTheFuture.token), false);
        }
        assert.deepEqual(await refresh(sasA, earlier.token), { outcome: 'refused', code: 'invalid_token' });
        // Token times are whole seconds; the cut-off is the tolerance past the revocation: after it, tokens work.
        await new Promise((r) => setTimeout(r, (TOKEN_CLOCK_TOLERANCE_SECONDS + 1.1) * 1000));
        const later = await issue(sasB);
        assert.equal(await valid(sasA, later.token), true);
      },
    );
  },
);

void describe('token revoke on the SQLite store', () => {
  void test('with SAS stopped or running, the CLI revokes and SAS refuses', { timeout }, async () => {
    const dataDir = join(root, 'embedded');
    let sas = await startSas({ dataDir });
    const visitor = await issue(sas);
    await sas.close();

    const run = await spawnCli(['token', 'revoke', '--identity', visitor.identity], { DATA_DIR: dataDir });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^Revoked every token of identity ${visitor.identity}\\.`));

    sas = await startSas({ dataDir });
    try {
      assert.equal(await valid(sas, visitor.token), false);
      // While SAS runs, the CLI opens the same file beside it, and SAS refuses at once.
      const other = await issue(sas);
      const running = await spawnCli(['token', 'revoke', '--account', accountSid], { DATA_DIR: dataDir });
      assert.equal(running.code, 0, running.stderr);
      assert.equal(await valid(sas, other.token), false);
    } finally {
      await sas.close();
    }
  });

  void test('bad input exits 2 and opens nothing', { timeout }, async () => {
    const env = { DATA_DIR: join(root, 'untouched') };
    const neither = await spawnCli(['token', 'revoke'], env);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /give exactly one of --identity <uuid> or --account <AC\.\.\.>/);
    const both = await spawnCli(
      ['token', 'revoke', '--account', accountSid, '--identity', '6f1c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f'],
      env,
    );
    assert.equal(both.code, 2);
    const badIdentity = await spawnCli(['token', 'revoke', '--identity', 'visitor-1'], env);
    assert.equal(badIdentity.code, 2);
    assert.match(badIdentity.stderr, /^error: Invalid identity: /);
    const badAccount = await spawnCli(['token', 'revoke', '--account', 'AC12'], env);
    assert.equal(badAccount.code, 2);
    await assert.rejects(stat(env.DATA_DIR), { code: 'ENOENT' });
  });
});
