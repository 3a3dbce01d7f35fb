import { type AccountAdmin, storeSocketPath } from '../store/accountAdmin';
import { connectStore } from '../store/connectStore';
import { openSessionStore } from '../store/openSessionStore';
import { openStore } from '../store/openStore';
import { type SessionStore } from '../store/sessionStore';
import { StoreError } from '../store/storeError';
import { type AdminConfig } from './config';

/**
 * Opens the store the worker uses. With `DATABASE_URL`, the server (any number of processes may share it).
 * Without, the embedded store under DATA_DIR; when a running worker holds it (PGlite admits one process), the
 * CLI goes through the worker instead, over the socket the worker serves in DATA_DIR, so that `make start` and
 * the CLI work side by side and a change is seen by the very next token request.
 */
export async function openAdminStore(config: AdminConfig): Promise<AccountAdmin> {
  if (config.DATABASE_URL) return openStore({ dataDir: config.DATA_DIR, databaseUrl: config.DATABASE_URL });
  try {
    return await openStore({ dataDir: config.DATA_DIR });
  } catch (err) {
    if (!(err instanceof StoreError && err.code === 'store_locked')) throw err;
    const socketPath = storeSocketPath(config.DATA_DIR);
    try {
      return await connectStore(socketPath);
    } catch (connectError) {
      const reason = (connectError as NodeJS.ErrnoException).code ?? String(connectError);
      throw new StoreError(
        'store_locked',
        `${err.message} That process does not serve the store at ${socketPath} (${reason}). Stop it and run ` +
          'the command again, or point both at a PostgreSQL server with DATABASE_URL.',
      );
    }
  }
}

/**
 * Opens the refresh and revocation state SAS reads: the PostgreSQL server with `DATABASE_URL` (shared with every
 * SAS instance, so a revocation holds at once everywhere), else the embedded session store under DATA_DIR. A
 * running SAS holds that one, so the CLI says to use a server instead.
 */
export async function openAdminSessionStore(config: AdminConfig): Promise<SessionStore> {
  try {
    return await openSessionStore({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
  } catch (err) {
    if (!(err instanceof StoreError && err.code === 'store_locked')) throw err;
    throw new StoreError(
      'store_locked',
      `${err.message} A running SAS holds the embedded session store: revoke with DATABASE_URL set (SAS and the ` +
        'CLI then share a PostgreSQL server), or stop SAS, revoke, and start it again.',
    );
  }
}
