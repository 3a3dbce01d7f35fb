import { join } from 'node:path';
import { AccountStore } from './accountStore';
import { migrate } from './migrate';
import { createPgliteClient } from './pgliteClient';

export interface OpenStoreOptions {
  /**
   * The service's data folder (git-ignored, e.g. `.data`): the database lives in `${dataDir}/accounts`.
   * `null` opens an in-memory database, for tests.
   */
  dataDir: string | null;
}

/**
 * Opens the embedded account store and brings its schema up to date. Close it with `store.close()`. A
 * file-backed store can be open in one process at a time (`StoreError('store_locked')` otherwise).
 */
export async function openStore({ dataDir }: OpenStoreOptions): Promise<AccountStore> {
  const client = await createPgliteClient(dataDir === null ? null : join(dataDir, 'accounts'));
  try {
    await migrate(client);
  } catch (err) {
    await client.close();
    throw err;
  }
  return new AccountStore(client);
}
