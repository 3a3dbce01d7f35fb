/**
 * `npm run start:store`: serves the embedded account store under DATA_DIR over the PostgreSQL wire protocol (a Unix
 * socket in `${DATA_DIR}/run`), migrated, until SIGINT/SIGTERM. `make start` runs it before the worker so that
 * the worker, the API, the admin CLI (and any later process) reach one store with `pg`, and so that restarting
 * the worker does not take the store away from the others. With DATABASE_URL there is nothing to serve.
 */
import { join } from 'node:path';
import { createLogger } from '../lib/logger';
import { loadStoreConfig } from './config';
import { embeddedConnection, embeddedSocketDir } from './embeddedSocket';
import { serveEmbeddedStore } from './embeddedServer';
import { migrate } from './migrate';
import { createPgClient } from './pgClient';

async function main() {
  const config = loadStoreConfig();
  const log = createLogger('store', config.LOG_LEVEL);
  const socketDir = embeddedSocketDir(config.DATA_DIR);
  const server = await serveEmbeddedStore(join(config.DATA_DIR, 'accounts'), socketDir);
  // Migrated through the same door as every other process; each opener migrates too (idempotent, and the
  // socket server runs one transaction at a time), so nobody depends on who comes first.
  const sql = createPgClient(embeddedConnection(socketDir), { max: 1, explicitTransactions: true });
  try {
    await migrate(sql);
  } catch (err) {
    await server.close();
    throw err;
  } finally {
    await sql.close();
  }
  log.info({ socketDir }, 'store serving');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'store stopping');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'store failed to stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
