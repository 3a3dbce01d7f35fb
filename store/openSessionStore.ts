import { openMigratedDatabase, type OpenStoreOptions } from './openStore';
import { SessionStore } from './sessionStore';

/**
 * Opens the refresh and revocation state with its schema up to date: the same database and migrations as the
 * account store (PostgreSQL when `databaseUrl` is set, else the SQLite file under `dataDir`), so every SAS
 * instance and the admin CLI share it.
 */
export async function openSessionStore(options: OpenStoreOptions): Promise<SessionStore> {
  return new SessionStore(await openMigratedDatabase(options));
}
