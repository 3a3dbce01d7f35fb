import { openMigratedClient } from './openStore';
import { SessionStore } from './sessionStore';

export interface OpenSessionStoreOptions {
  /** `DATABASE_URL`: the PostgreSQL server every SAS instance and the admin CLI share. */
  databaseUrl?: string | undefined;
  /** Without a server: the data folder of the embedded store (`null`: a fresh in-memory one, for tests). */
  dataDir: string | null;
}

/**
 * Opens the refresh and revocation state with its schema up to date: the same database and migrations as the
 * account store, on the PostgreSQL server when `databaseUrl` is set, else the embedded store, reached over the
 * PostgreSQL wire protocol like every other process does (store/embeddedClient.ts), so SAS and the admin CLI
 * share it while `make start` runs.
 */
export async function openSessionStore(options: OpenSessionStoreOptions): Promise<SessionStore> {
  return new SessionStore(await openMigratedClient(options));
}
