import { chmodSync, closeSync, mkdirSync, openSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  Kysely,
  PostgresDialect,
  type RawBuilder,
  sql,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
} from 'kysely';
import { Pool, types as pgTypes } from 'pg';
import type { StoreSchema } from './schema';
import { StoreError } from './storeError';

export type StoreDialect = 'sqlite' | 'postgres';

/**
 * The store's database, opened by each process that uses it: SQLite in process on one box (a file under the data
 * folder, shared by every process of `make start`), PostgreSQL for a fleet (`DATABASE_URL`). One Kysely query
 * layer over both: the store's code writes each query once.
 *
 * Transactions (`db.transaction().execute(...)`) are write transactions: on SQLite each starts with
 * `BEGIN IMMEDIATE`, so it takes the file's write lock first, waiting up to the busy timeout while another
 * process writes, and never fails half-way because another process committed after it read (the deferred
 * `BEGIN` trap: SQLITE_BUSY that no timeout helps). Reads outside a transaction never wait for a writer (WAL).
 */
export interface StoreDatabase {
  readonly dialect: StoreDialect;
  readonly db: Kysely<StoreSchema>;
  /** The database's clock, in milliseconds since the epoch: one clock for every process and instance. */
  readonly now: RawBuilder<number>;
  /** The SQLite file; null on PostgreSQL and for an in-memory database. */
  readonly file: string | null;
  /**
   * Copies the whole database to `destination` while every process keeps working (SQLite's online backup API):
   * written beside it first and renamed into place, so a backup file is always whole. PostgreSQL: `pg_dump`.
   */
  backup(destination: string): Promise<void>;
  /** Idempotent. On SQLite it checkpoints the WAL into the file. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /**
   * The process's data folder: the SQLite file is `${dataDir}/store.sqlite`. `null` opens an in-memory database
   * (tests). Ignored when `databaseUrl` is set.
   */
  dataDir: string | null;
  /** A PostgreSQL server (`DATABASE_URL`); SQLite under `dataDir` when absent. */
  databaseUrl?: string | undefined;
}

/** The SQLite file under a data folder. */
export const sqliteFile = (dataDir: string) => join(dataDir, 'store.sqlite');

/**
 * How long a statement waits for another process's write lock before it fails with SQLITE_BUSY ("database is
 * locked"). Writers hold the lock for a short transaction (a refresh's claim, one admin command, a batch of
 * pruned rows), so this is a ceiling that is never reached in normal operation.
 *
 * SQLite's own busy handler waits by sleeping the thread, which in Node is the event loop: a process waiting for
 * the lock would answer nothing else meanwhile, and a second connection in the same process would wait for a
 * holder that cannot run. So SQLite waits only `SQLITE_BUSY_TIMEOUT_MS` itself (enough for another process's
 * sub-millisecond commit), and the statement is retried on timers, with backoff, up to `BUSY_TIMEOUT_MS` in all.
 */
const BUSY_TIMEOUT_MS = 5000;
const SQLITE_BUSY_TIMEOUT_MS = 10;

export async function openDatabase({ dataDir, databaseUrl }: OpenDatabaseOptions): Promise<StoreDatabase> {
  return databaseUrl ? openPostgres(databaseUrl) : openSqlite(dataDir === null ? null : sqliteFile(dataDir));
}

async function openSqlite(file: string | null): Promise<StoreDatabase> {
  if (file !== null) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Hashes of keys and sealed tokens: readable by this user only. SQLite gives its -wal and -shm files the
    // same mode as the database file.
    closeSync(openSync(file, 'a', 0o600));
  }
  const sqlite = new SqliteDatabase(file ?? ':memory:', { timeout: SQLITE_BUSY_TIMEOUT_MS });
  try {
    await useWal(sqlite);
    // WAL keeps committed transactions through a crash with NORMAL; only the last ones before a power loss may
    // roll back, never to a corrupt file.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const db = new Kysely<StoreSchema>({ dialect: new ImmediateSqliteDialect(sqlite) });
  let closing: Promise<void> | undefined;
  return {
    dialect: 'sqlite',
    db,
    now: sql<number>`cast(unixepoch('subsec') * 1000 as integer)`,
    file,
    async backup(destination) {
      const partial = `${destination}.partial`;
      await sqlite.backup(partial);
      chmodSync(partial, 0o600);
      renameSync(partial, destination);
    },
    close: () => (closing ??= db.destroy()),
  };
}

/**
 * Switches the file to WAL, which lets readers and one writer of different processes work at once. The mode is
 * kept in the file, so only the first opener switches it; processes that open a new file together may find it
 * locked for a moment while one of them does (the switch does not wait for the busy timeout), so it is retried.
 */
async function useWal(sqlite: SqliteDatabase.Database): Promise<void> {
  if (sqlite.memory) return;
  await whileBusy(() => {
    const mode = sqlite.pragma('journal_mode = WAL', { simple: true }) as string;
    if (mode !== 'wal') throw new Error(`SQLite refused WAL mode (journal_mode is ${mode})`);
  });
}

/** Runs `attempt` until it does not fail with SQLITE_BUSY, waiting on timers, for `BUSY_TIMEOUT_MS` at most. */
async function whileBusy<T>(attempt: () => T | Promise<T>): Promise<T> {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    try {
      return await attempt();
    } catch (err) {
      if (!isBusy(err) || Date.now() + delay > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

const isBusy = (err: unknown) =>
  typeof (err as { code?: unknown }).code === 'string' &&
  (err as { code: string }).code.startsWith('SQLITE_BUSY');

/**
 * Kysely's SQLite dialect, whose transactions take the write lock first (`BEGIN IMMEDIATE`), and whose migrations
 * run in one such transaction. SQLite rolls back DDL like any other change; Kysely's own adapter says it does not
 * (`supportsTransactionalDdl`), which would run each migration statement on its own, without the lock: a failed
 * migration would leave half its tables, and migrators starting together would both apply it.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly sqlite: SqliteDatabase.Database) {
    super({ database: sqlite });
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.sqlite }, this.sqlite);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * Every statement waits for the write lock on timers (`whileBusy`); a statement that got SQLITE_BUSY did nothing,
 * so it can run again, and a transaction begins with the write lock, so no statement inside one gets it.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  private retrying: DatabaseConnection | undefined;

  constructor(
    config: ConstructorParameters<typeof SqliteDriver>[0],
    private readonly sqlite: SqliteDatabase.Database,
  ) {
    super(config);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    this.retrying ??= {
      executeQuery: (query) => whileBusy(() => connection.executeQuery(query)),
      streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
    };
    return this.retrying;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  /** A `BEGIN IMMEDIATE` that timed out left no transaction to roll back: keep its error, not rollback's. */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.sqlite.inTransaction) await connection.executeQuery(CompiledQuery.raw('rollback'));
  }
}

/** `bigint` columns (times in milliseconds) as numbers: `pg` returns int8 as a string by default. */
const INT8_OID: number = pgTypes.builtins.INT8;
const int8AsNumber = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : pgTypes.getTypeParser(oid, format)) as typeof pgTypes.getTypeParser,
};

function openPostgres(databaseUrl: string): StoreDatabase {
  const pool = new Pool({
    connectionString: databaseUrl,
    // The worker's activities and SAS's requests run concurrently.
    max: 10,
    // No request hangs on an unreachable server.
    connectionTimeoutMillis: 5000,
    types: int8AsNumber,
  });
  // An idle connection dropped by the server (restart, failover) is reported here; without a listener it would
  // crash the process. The pool discards that client and the next query opens a new one.
  pool.on('error', () => {});
  const db = new Kysely<StoreSchema>({ dialect: new PostgresDialect({ pool }) });
  let closing: Promise<void> | undefined;
  return {
    dialect: 'postgres',
    db,
    now: sql<number>`(extract(epoch from now()) * 1000)::bigint`,
    file: null,
    backup: () =>
      Promise.reject(
        new StoreError('unsupported', 'The store is on PostgreSQL (DATABASE_URL): back it up with pg_dump'),
      ),
    close: () => (closing ??= db.destroy()),
  };
}
