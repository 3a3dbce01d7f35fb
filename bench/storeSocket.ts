/**
 * `node --import tsx bench/storeSocket.ts [reads]`: what the PostgreSQL wire protocol in front of the embedded
 * store costs. The token path's three reads (key, config, flag: `AccountReader`) are timed at several
 * concurrencies, first on PGlite in this process (the old in-process path), then through the store process
 * (`store/main.ts`, a process of its own) with `pg`, then again through the socket while a second client runs
 * admin transactions (the CLI during traffic). Prints one line per case; the README's store section quotes it.
 */
import { PGlite } from '@electric-sql/pglite';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AccountAdmin } from '../store/accountAdmin';
import { AccountReader } from '../store/accountReader';
import { embeddedConnection, embeddedSocketDir, probeEmbeddedStore } from '../store/embeddedSocket';
import { migrate } from '../store/migrate';
import { createPgClient } from '../store/pgClient';
import { type SqlClient, type SqlExecutor } from '../store/sqlClient';

const READS = Number(process.argv[2] ?? 3000);
const CONCURRENCY = [1, 10, 50];

/** PGlite in this process behind `SqlClient`: the baseline only (the product reaches PGlite through `pg`). */
function inProcess(db: PGlite): SqlClient {
  const executor = (x: Pick<PGlite, 'query' | 'exec'>): SqlExecutor => ({
    query: async <T>(sql: string, params: readonly unknown[] = []) => ({
      rows: (await x.query<T>(sql, [...params])).rows,
    }),
    exec: async (sql) => {
      await x.exec(sql);
    },
  });
  return {
    ...executor(db),
    transaction: (fn) => db.transaction((tx) => fn(executor(tx))),
    close: () => db.close(),
  };
}

async function seed(sql: SqlClient): Promise<{ accountSid: string; key: string }[]> {
  await migrate(sql);
  const admin = new AccountAdmin(sql);
  const accounts = [];
  for (let i = 0; i < 20; i++) {
    const { account, keys } = await admin.createAccount({ deploymentKeys: [`bench-key-${i}-0000`] });
    accounts.push({ accountSid: account.accountSid, key: keys[0]!.key });
  }
  return accounts;
}

/** `READS` issuances' worth of reads, `concurrency` at a time; per-issuance latency in ms. */
async function run(
  reader: AccountReader,
  accounts: { accountSid: string; key: string }[],
  concurrency: number,
) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < READS) {
        const a = accounts[next++ % accounts.length]!;
        const t0 = performance.now();
        const sid = await reader.resolveDeploymentKey(a.key);
        const config = await reader.getAccountConfig(a.accountSid);
        await reader.getFeatureFlag(a.accountSid, 'webchat-security');
        if (sid !== a.accountSid || config?.accountSid !== sid) throw new Error('wrong answer');
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((x, y) => x - y);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return `${(READS / seconds).toFixed(0)} issuances/s, p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms`;
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'bench-store-'));
  let child: ChildProcess | undefined;
  try {
    const local = inProcess(await PGlite.create(join(dir, 'local')));
    const localAccounts = await seed(local);
    for (const c of CONCURRENCY) {
      console.log(
        `in-process PGlite, concurrency ${c}: ${await run(new AccountReader(local), localAccounts, c)}`,
      );
    }
    await local.close();

    const dataDir = join(dir, 'data');
    child = spawn(process.execPath, ['--import', 'tsx', 'store/main.ts'], {
      cwd: resolve(__dirname, '..'),
      env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: 'inherit',
    });
    const socketDir = embeddedSocketDir(dataDir);
    while (!(await probeEmbeddedStore(socketDir)).ok) await new Promise((r) => setTimeout(r, 100));
    const sql = createPgClient(embeddedConnection(socketDir), { explicitTransactions: true });
    const accounts = await seed(sql);
    const reader = new AccountReader(sql);
    for (const c of CONCURRENCY) {
      console.log(`socket (store process, pg), concurrency ${c}: ${await run(reader, accounts, c)}`);
    }

    // Locking: a second client (the CLI) writes in transactions the whole time; reads queue behind each one.
    const writer = new AccountAdmin(
      createPgClient(embeddedConnection(socketDir), { explicitTransactions: true }),
    );
    let writes = 0;
    let writing = true;
    const writes$ = (async () => {
      while (writing) {
        await writer.setFeatureFlag(
          accounts[writes % accounts.length]!.accountSid,
          'bench-flag',
          writes % 2 === 0,
        );
        writes++;
      }
    })();
    const started = performance.now();
    const mixed = await run(reader, accounts, 10);
    writing = false;
    await writes$;
    const perSecond = (writes / ((performance.now() - started) / 1000)).toFixed(0);
    console.log(`socket, concurrency 10, with ${perSecond} admin transactions/s beside: ${mixed}`);
    await writer.close();
    await sql.close();
  } finally {
    child?.kill('SIGTERM');
    if (child && child.exitCode === null) await new Promise((r) => child?.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
