/**
 * `node --import tsx bench/storeReads.ts [reads]`: what an issuance's store read costs. The token path reads the
 * account, its configuration and its flag in one query (`AccountReader.readByDeploymentKey`); this times that
 * read at several concurrencies on the SQLite file in this process, then while another process writes to the
 * same file (the admin CLI during traffic), then on PostgreSQL (`TEST_DATABASE_URL` or the local server). Prints
 * one line per case: reads/s, p50 and p99 latency, and this process's CPU per read.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { WEBCHAT_SECURITY_FLAG } from '../domain/contracts';
import type { AccountStore } from '../store/accountStore';
import { openStore } from '../store/openStore';

const READS = Number(process.argv[2] ?? 20_000);
const CONCURRENCY = [1, 10, 50];

async function seed(store: AccountStore): Promise<string[]> {
  const keys = [];
  for (let i = 0; i < 20; i++) {
    const {
      keys: [created],
    } = await store.createAccount({
      deploymentKeys: [`bench-key-${i}-${Date.now()}`],
      featureFlags: { [WEBCHAT_SECURITY_FLAG]: i % 2 === 0 },
    });
    keys.push(created!.key);
  }
  return keys;
}

/** `READS` reads, `concurrency` at a time. */
async function run(store: AccountStore, keys: string[], concurrency: number): Promise<string> {
  const latencies: number[] = [];
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < READS) {
        const key = keys[next++ % keys.length]!;
        const t0 = performance.now();
        const read = await store.readByDeploymentKey(key, WEBCHAT_SECURITY_FLAG);
        if (!read) throw new Error('wrong answer');
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  latencies.sort((x, y) => x - y);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return (
    `${(READS / seconds).toFixed(0)} reads/s, p50 ${(at(0.5) * 1000).toFixed(0)} µs, ` +
    `p99 ${(at(0.99) * 1000).toFixed(0)} µs, CPU ${((user + system) / READS).toFixed(0)} µs per read`
  );
}

/** In a child process: admin writes to the same file, one transaction after another, until told to stop. */
async function writer(dataDir: string) {
  const store = await openStore({ dataDir });
  const accountSid = (await store.listAccounts())[0]?.accountSid;
  if (!accountSid) throw new Error('no account to write to');
  let writes = 0;
  let writing = true;
  process.on('message', () => (writing = false));
  const started = performance.now();
  while (writing) {
    await store.setFeatureFlag(accountSid, 'bench-flag', writes % 2 === 0);
    writes++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  process.send?.((writes / ((performance.now() - started) / 1000)).toFixed(0));
  await store.close();
  process.disconnect?.();
}

async function main() {
  if (process.argv[2] === '--writer') return writer(process.argv[3]!);
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-store-'));
  try {
    const sqlite = await openStore({ dataDir });
    const keys = await seed(sqlite);
    for (const c of CONCURRENCY) console.log(`SQLite, concurrency ${c}: ${await run(sqlite, keys, c)}`);

    const child = fork(__filename, ['--writer', dataDir], { execArgv: ['--import', 'tsx'] });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const mixed = await run(sqlite, keys, 10);
    const perSecond = new Promise<string>((resolve) => child.once('message', resolve));
    child.send('stop');
    console.log(
      `SQLite, concurrency 10, another process writing (${await perSecond} transactions/s): ${mixed}`,
    );
    await sqlite.close();

    const url = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
    const schema = `bench_store_${process.pid}`;
    const admin = new Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    const scoped = new URL(url);
    scoped.searchParams.set('options', `-c search_path=${schema}`);
    const postgres = await openStore({ dataDir: null, databaseUrl: scoped.toString() });
    try {
      const pgKeys = await seed(postgres);
      for (const c of CONCURRENCY) {
        console.log(`PostgreSQL, concurrency ${c}: ${await run(postgres, pgKeys, c)}`);
      }
    } finally {
      await postgres.close();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
