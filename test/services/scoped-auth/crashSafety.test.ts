import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { createServiceCredentials } from '../../../lib/serviceAuth';
import { freePorts, waitForHttp } from '../../../scripts/stack';
import { sqliteFile } from '../../../store/database';
import { postAsService } from '../../../scripts/stack/serviceAuthorization';

/**
 * SAS as a process of its own (`npm run start:sas`) on the SQLite store, killed with SIGKILL while refresh chains
 * run through it. Every refresh SAS answered was committed: after a restart on the same file, the same refresh
 * repeated within the grace window gets the very successor it got before, which SAS can only know from its row.
 */
const root = resolve(__dirname, '..', '..', '..');
const accountSid = 'AC0123456789abcdef0123456789abcdef';
const grants = { webchat: { addressSid: 'IS0123456789abcdef0123456789abcdef' } };
const authSecret = randomBytes(32).toString('base64url');
const asFas = createServiceCredentials({
  issuer: 'federated-auth',
  audience: 'scoped-auth',
  secret: Buffer.from(authSecret, 'base64url'),
});

let dataDir: string;
let port: number;
let sas: ChildProcess | undefined;
before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sas-crash-'));
  [port] = (await freePorts(1)) as [number];
});
after(async () => {
  sas?.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

async function startSas(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['scripts/service.js', 'sas'], {
    cwd: root,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      SAS_PORT: String(port),
      SAS_AUTH_SECRET: authSecret,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, child);
  return child;
}

async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await postAsService(asFas, `http://127.0.0.1:${port}${path}`, body);
  if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}
const issue = async () =>
  (await post('/v1/ScopedAuthTokens/generate/internal', { accountSid, grants, ttl: 600, encrypt: true }))
    .token as string;
const refresh = async (token: string) =>
  (await post('/v1/ScopedAuthTokens/refresh/internal', { accountSid, token, grants, ttl: 600 })) as {
    outcome: string;
    token?: string;
  };

void test(
  'SAS killed (SIGKILL) during refresh load: every refresh it answered survives',
  { timeout: 120_000 },
  async () => {
    sas = await startSas();
    const answered = new Map<string, string>(); // parent token -> the successor SAS answered
    let killed = false;
    const chains = Array.from({ length: 10 }, async () => {
      try {
        let current = await issue();
        while (!killed) {
          const next = await refresh(current);
          if (next.outcome !== 'refreshed' || !next.token)
            throw new Error(`refused: ${JSON.stringify(next)}`);
          answered.set(current, next.token);
          current = next.token;
        }
      } catch (err) {
        if (!killed) throw err; // the kill cuts requests in flight; nothing else may fail
      }
    });
    while (answered.size < 40) await new Promise((r) => setTimeout(r, 5));
    killed = true;
    sas.kill('SIGKILL');
    await Promise.all(chains);

    const sqlite = new SqliteDatabase(sqliteFile(dataDir));
    try {
      assert.equal(sqlite.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      sqlite.close();
    }

    sas = await startSas();
    for (const [parent, successor] of answered) {
      const again = await refresh(parent);
      assert.equal(again.outcome, 'refreshed');
      assert.equal(again.token, successor, 'the refresh SAS answered before the kill was committed');
    }
  },
);
