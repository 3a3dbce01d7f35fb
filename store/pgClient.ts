import { Pool, type PoolClient, type QueryResultRow } from 'pg';
import { type SqlClient, type SqlExecutor } from './sqlClient';

export interface PgClientOptions {
  /** Connections kept at most; the worker's activities run concurrently. */
  max?: number;
  /** How long to wait for a connection before failing: no request hangs on an unreachable server. */
  connectionTimeoutMs?: number;
}

/**
 * A PostgreSQL server behind `SqlClient`, through a `pg` pool. `connectionString` is a libpq-style URL
 * (`postgres://user:pass@host:5432/db`); `?options=-c search_path=...` selects a schema.
 *
 * Each statement may run on a different pooled connection, so a transaction checks one client out and runs
 * every statement of it there.
 */
export function createPgClient(connectionString: string, options: PgClientOptions = {}): SqlClient {
  const pool = new Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
  });
  // An idle connection dropped by the server (restart, failover) is reported here; without a listener it
  // would crash the process. The pool discards that client and the next query opens a new one.
  pool.on('error', () => {});

  let closing: Promise<void> | undefined;
  return {
    ...executor(pool),
    transaction: async (fn) => {
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
    },
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
