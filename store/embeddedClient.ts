import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedConnection, embeddedSocketDir, probeEmbeddedStore } from './embeddedSocket';
import { type EmbeddedServer, serveEmbeddedStore } from './embeddedServer';
import { createPgClient, type PgClientOptions } from './pgClient';
import { type SqlClient } from './sqlClient';
import { StoreError } from './storeError';

/** How long a process waits for a store whose lock is taken but whose socket does not answer yet. */
const HOST_STARTING_MS = 5000;

/**
 * A `pg` client of the embedded store under `dataDir` (the database in `${dataDir}/accounts`, its socket in
 * `${dataDir}/run`). When a process already serves it (the store process of `make start`, or whichever process
 * opened it first), this connects to it; when none does, this process serves it itself for as long as the
 * client is open, so the CLI or a worker run alone keep working. `null` serves a fresh in-memory database on a
 * socket of its own (tests). Either way the store code speaks `pg` only.
 */
export async function openEmbeddedClient(
  dataDir: string | null,
  options: Pick<PgClientOptions, 'max'> = {},
): Promise<SqlClient> {
  if (dataDir === null) {
    const socketDir = await mkdtemp(join(tmpdir(), 'webchat-store-'));
    try {
      return withServer(await serveEmbeddedStore(null, socketDir), options, () =>
        rm(socketDir, { recursive: true, force: true }),
      );
    } catch (err) {
      await rm(socketDir, { recursive: true, force: true });
      throw err;
    }
  }

  const socketDir = embeddedSocketDir(dataDir);
  const until = Date.now() + HOST_STARTING_MS;
  for (;;) {
    const probe = await probeEmbeddedStore(socketDir);
    if (probe.ok) return client(socketDir, options);
    try {
      return withServer(await serveEmbeddedStore(join(dataDir, 'accounts'), socketDir), options);
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 'store_locked')) throw err;
      // Locked but not answering: the holder is starting (it locks, then listens), or it does not serve.
      if (Date.now() > until) {
        throw new StoreError(
          'store_locked',
          `${err.message} That process does not serve the store at ${socketDir} (${probe.reason}). Stop it ` +
            'and run the command again, or point every process at a PostgreSQL server with DATABASE_URL.',
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function client(socketDir: string, options: Pick<PgClientOptions, 'max'>): SqlClient {
  return createPgClient(embeddedConnection(socketDir), { ...options, explicitTransactions: true });
}

/** A client of the server this process runs: closing it stops the server, then runs `cleanUp`. */
function withServer(
  server: EmbeddedServer,
  options: Pick<PgClientOptions, 'max'>,
  cleanUp: () => Promise<void> = async () => {},
): SqlClient {
  const sql = client(server.socketDir, options);
  let closing: Promise<void> | undefined;
  return {
    ...sql,
    close: () => {
      closing ??= sql
        .close()
        .finally(() => server.close())
        .finally(cleanUp);
      return closing;
    },
  };
}
