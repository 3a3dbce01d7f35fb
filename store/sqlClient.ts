/**
 * The only door to the database. The store speaks plain PostgreSQL through it, so the embedded PGlite client
 * and a `pg` pool can be swapped without touching a query.
 *
 * Rules that keep the SQL portable between the two drivers:
 * - positional parameters (`$1`), never string interpolation;
 * - cast what a driver may return differently (`count(*)::int`, since `pg` returns int8 as a string);
 * - text[] parameters are passed as JS arrays, bytea as `Buffer`/`Uint8Array`.
 */
export interface SqlResult<T> {
  rows: T[];
}

export interface SqlExecutor {
  /** One statement with positional parameters. `T` is not checked at run time: map rows explicitly. */
  query<T>(sql: string, params?: readonly unknown[]): Promise<SqlResult<T>>;
  /**
   * A script of one or more statements without parameters (migrations). `pg` runs it with `client.query(sql)`,
   * which uses the simple query protocol; PGlite with `exec`.
   */
  exec(sql: string): Promise<void>;
}

export interface SqlClient extends SqlExecutor {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Idempotent. */
  close(): Promise<void>;
}
