import { join, resolve } from 'node:path';
import { Client, type ClientConfig } from 'pg';

/**
 * Where the embedded store is served: PostgreSQL's own Unix-socket convention, `${dir}/.s.PGSQL.5432`, so that
 * `pg` (and `psql -h <dir>`) reach it as they reach a PostgreSQL server. The folder is `${DATA_DIR}/run`, mode
 * 0700; the socket itself is 0600.
 */
export const EMBEDDED_PORT = 5432;

/** Linux's sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

export const embeddedSocketDir = (dataDir: string): string => join(resolve(dataDir), 'run');

export const embeddedSocketPath = (socketDir: string): string => join(socketDir, `.s.PGSQL.${EMBEDDED_PORT}`);

/** The `pg` settings of the embedded store served in `socketDir`: PGlite's one database and user. */
export function embeddedConnection(socketDir: string): ClientConfig {
  return { host: socketDir, port: EMBEDDED_PORT, user: 'postgres', database: 'postgres' };
}

/**
 * Whether an embedded store answers in `socketDir` (a connection and `SELECT 1` within `timeoutMs`). Nothing
 * listening (`ENOENT`, `ECONNREFUSED`) is `false`; the socket's error is kept in `reason` for messages.
 */
export async function probeEmbeddedStore(
  socketDir: string,
  timeoutMs = 2000,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const client = new Client({ ...embeddedConnection(socketDir), connectionTimeoutMillis: timeoutMs });
  // A connection the server drops after the probe must not crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as NodeJS.ErrnoException).code ?? String(err) };
  } finally {
    await client.end().catch(() => {});
  }
}
