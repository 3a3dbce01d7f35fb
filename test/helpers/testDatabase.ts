import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Client } from 'pg';

/**
 * The PostgreSQL server the tests use: `TEST_DATABASE_URL`, else the one developer machines and CI run
 * (127.0.0.1:5432, trust auth, database `test`).
 */
export const testDatabaseUrl = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** Errors that mean "no server answered", as opposed to a server that answered and refused. */
const UNREACHABLE = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'TIMEOUT',
];

// Runs in a child process, so that the answer is known synchronously, before suites are declared: node:test
// needs `skip` when a suite is registered.
const PROBE = `
const { Client } = require('pg');
const client = new Client({ connectionString: process.env.PROBE_URL, connectionTimeoutMillis: 3000 });
client.on('error', () => {});
client.connect().then(() => client.query('SELECT 1')).then(
  () => { console.log(JSON.stringify({ ok: true })); return client.end(); },
  (err) => {
    const code = err.code || (/timeout/i.test(err.message) ? 'TIMEOUT' : undefined);
    console.log(JSON.stringify({ ok: false, code, message: err.message }));
    return client.end().catch(() => {});
  },
);`;

let probed: string | null | undefined;

/**
 * Why the PostgreSQL half of a test cannot run here, or null when the server answers. Only an unreachable
 * server is a reason to skip: a server that answers and refuses (unknown database, authentication) throws,
 * which fails the test file instead of hiding the PostgreSQL half.
 */
export function postgresUnavailable(): string | null {
  if (probed !== undefined) return probed;
  const run = spawnSync(process.execPath, ['-e', PROBE], {
    cwd: resolve(__dirname, '..', '..'),
    env: { ...process.env, PROBE_URL: testDatabaseUrl },
    encoding: 'utf8',
    timeout: 10_000,
  });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  let result: { ok: boolean; code?: string; message?: string };
  try {
    result = JSON.parse(line) as typeof result;
  } catch {
    throw new Error(`Probing PostgreSQL failed: ${run.stderr || String(run.error)}`);
  }
  if (result.ok) {
    probed = null;
  } else if (result.code && UNREACHABLE.includes(result.code)) {
    probed = `no PostgreSQL server answers at ${redact(testDatabaseUrl)} (${result.code}); start one or set TEST_DATABASE_URL`;
  } else {
    throw new Error(`PostgreSQL at ${redact(testDatabaseUrl)} answered but refused: ${result.message ?? ''}`);
  }
  return probed;
}

export interface TestSchema {
  /** `testDatabaseUrl` with this schema as the search path: everything the code under test creates lands here. */
  url: string;
  name: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** A fresh, empty schema on the test server, so test files (and parallel runs) never see each other's rows. */
export async function createTestSchema(prefix = 'test'): Promise<TestSchema> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE SCHEMA ${name}`);
  const url = new URL(testDatabaseUrl);
  url.searchParams.set('options', `-c search_path=${name}`);
  return { url: url.toString(), name, drop: () => admin(`DROP SCHEMA IF EXISTS ${name} CASCADE`) };
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: testDatabaseUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
