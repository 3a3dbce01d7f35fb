import { Pool, type PoolClient, type PoolConfig, type QueryResultRow } from 'pg';
import { type SqlClient, type SqlExecutor } from './sqlClient';

export interface PgClientOptions {
  /** Connections kept at most; the worker's activities run concurrently. */
  max?: number;
  /** How long to wait for a connection before failing: no request hangs on an unreachable server. */
  connectionTimeoutMs?: number;
  /**
   * Run every statement in an explicit transaction (`BEGIN` ... `COMMIT`). Required for the embedded store's
   * socket server (`embeddedServer.ts`): it multiplexes its connections onto PGlite's single session one
   * protocol message at a time, so the Parse/Bind/Execute of two connections' parameterised statements can
   * interleave (`portal "" does not exist`, or one connection bound to another's statement), except inside an
   * explicit transaction block, during which it serves that connection alone. Measured in the README.
   */
  explicitTransactions?: boolean;
}

/**
 * A PostgreSQL server behind `SqlClient`, through a `pg` pool: a server given by a libpq-style URL
 * (`postgres://user:pass@host:5432/db`; `?options=-c search_path=...` selects a schema), or the embedded store's
 * socket given by its `pg` settings (`embeddedConnection`).
 *
 * Each statement may run on a different pooled connection, so a transaction checks one client out and runs
 * every statement of it there.
 */
export function createPgClient(connection: string | PoolConfig, options: PgClientOptions = {}): SqlClient {
  const pool = new Pool({
    ...(typeof connection === 'string' ? { connectionString: connection } : connection),
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
  });
  // An idle connection dropped by the server (restart, failover) is reported here; without a listener it
  // would crash the process. The pool discards that client and the next query opens a new one.
  pool.on('error', () => {});

  const transaction: SqlClient['transaction'] = async (fn) => {
    const client = await pool.connect();
    // A client whose ROLLBACK failed is in an unknown state: destroy it instead of returning it to the pool.
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(executor(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw err;
    } finally {
      client.release(broken);
    }
  };

  let closing: Promise<void> | undefined;
  return {
    ...(options.explicitTransactions
      ? {
          query: <T>(sql: string, params?: readonly unknown[]) =>
            transaction((tx) => tx.query<T>(sql, params)),
          exec: (sql: string) => transaction((tx) => tx.exec(sql)),
        }
      : executor(pool)),
    transaction,
    close: () => {
      closing ??= pool.end();
      return closing;
    },
  };
}

function executor(db: Pool | PoolClient): SqlExecutor {
  return {
    query: async <T>(sql: string, params: readonly unknown[] = []) => {
      const { rows } = await db.query<QueryResultRow>(sql, [...params]);
      return { rows: rows as T[] };
    },
    // Without parameters `pg` uses the simple query protocol, which runs a multi-statement script.
    exec: async (sql) => {
      await db.query(sql);
    },
  };
}
