import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { AccountStore } from '../../store/accountStore';
import { openDatabase, type StoreDatabase } from '../../store/database';
import { migrate } from '../../store/migrations';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../helpers/testDatabase';

export type BackendName = 'SQLite' | 'PostgreSQL';

export interface BackendDatabase {
  name: BackendName;
  /**
   * What `openStore` takes for this suite's database, as a process is configured: SQLite in a data folder of the
   * suite's own (a file every opener shares, as the processes of one box do), PostgreSQL in a schema of its own.
   * Valid inside hooks and tests.
   */
  readonly options: { dataDir: string | null; databaseUrl: string | undefined };
  /** A new, unmigrated connection to the suite's database (`openDatabase`). */
  connect(): Promise<StoreDatabase>;
}

/**
 * Registers the suite `title` once per store backend: SQLite (a file in a temporary folder of the suite's own) and
 * a PostgreSQL server (a schema of the suite's own, dropped when the suite ends; when no server answers it is
 * reported as one skipped test that says why).
 */
export function forEachBackend(title: string, body: (db: BackendDatabase) => void): void {
  void describe(`${title} [SQLite]`, () => {
    let dir: string | undefined;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'store-test-'));
    });
    const options = () => {
      if (!dir) throw new Error('the data folder is created in a before hook');
      return { dataDir: dir, databaseUrl: undefined };
    };
    body({
      name: 'SQLite',
      get options() {
        return options();
      },
      connect: () => openDatabase(options()),
    });
    after(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });
  });

  const reason = postgresUnavailable();
  void describe(`${title} [PostgreSQL]`, { skip: reason ?? false }, () => {
    let schema: TestSchema | undefined;
    before(async () => {
      schema = await createTestSchema('store');
    });
    const options = () => {
      if (!schema) throw new Error('the test schema is created in a before hook');
      return { dataDir: null, databaseUrl: schema.url };
    };
    body({
      name: 'PostgreSQL',
      get options() {
        return options();
      },
      connect: () => openDatabase(options()),
    });
    // Declared after the body's hooks, so it runs after they closed their clients.
    after(async () => {
      await schema?.drop();
    });
  });
}

/**
 * One migrated store on the suite's database, opened before the suite's tests and closed after them; `database`
 * is its connection, for tests that look at the tables themselves. Valid inside hooks and tests.
 */
export function suiteStore(db: BackendDatabase): {
  readonly store: AccountStore;
  readonly database: StoreDatabase;
} {
  let opened: { store: AccountStore; database: StoreDatabase } | undefined;
  before(async () => {
    const database = await db.connect();
    await migrate(database);
    opened = { store: new AccountStore(database), database };
  });
  after(async () => {
    await opened?.store.close();
  });
  const get = () => {
    if (!opened) throw new Error('the suite store is opened in a before hook');
    return opened;
  };
  return {
    get store() {
      return get().store;
    },
    get database() {
      return get().database;
    },
  };
}
