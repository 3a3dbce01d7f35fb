import { after, before, describe } from 'node:test';
import { AccountStore } from '../../store/accountStore';
import { migrate } from '../../store/migrate';
import { createPgClient } from '../../store/pgClient';
import { openEmbeddedClient } from '../../store/embeddedClient';
import { type SqlClient } from '../../store/sqlClient';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../helpers/testDatabase';

export type BackendName = 'PGlite' | 'PostgreSQL';

export interface BackendDatabase {
  name: BackendName;
  /**
   * A new client on this suite's database. PostgreSQL: every client sees the same fresh schema. PGlite: each
   * client is its own in-memory database, so open one per suite.
   */
  connect(): Promise<SqlClient>;
  /** The suite's `DATABASE_URL` (PostgreSQL), or undefined for the embedded store. Valid inside hooks and tests. */
  readonly databaseUrl: string | undefined;
}

/**
 * Registers the suite `title` once per store backend: the embedded PGlite (served on a socket of its own and
 * reached with `pg`, as every process reaches it) and a PostgreSQL server. The PostgreSQL
 * suite gets a schema of its own, dropped when the suite ends; when no server answers it is reported as one
 * skipped test that says why.
 */
export function forEachBackend(title: string, body: (db: BackendDatabase) => void): void {
  void describe(`${title} [PGlite]`, () => {
    body({ name: 'PGlite', connect: () => openEmbeddedClient(null), databaseUrl: undefined });
  });

  const reason = postgresUnavailable();
  void describe(`${title} [PostgreSQL]`, { skip: reason ?? false }, () => {
    let schema: TestSchema | undefined;
    before(async () => {
      schema = await createTestSchema('store');
    });
    const url = () => {
      if (!schema) throw new Error('the test schema is created in a before hook');
      return schema.url;
    };
    body({
      name: 'PostgreSQL',
      connect: () => Promise.resolve(createPgClient(url(), { max: 4 })),
      get databaseUrl() {
        return url();
      },
    });
    // Declared after the body's hooks, so it runs after they closed their clients.
    after(async () => {
      await schema?.drop();
    });
  });
}

/**
 * One migrated store on the suite's database, opened before the suite's tests and closed after them; `sql` is its
 * client, for tests that look at the tables themselves. Valid inside hooks and tests.
 */
export function suiteStore(db: BackendDatabase): { readonly store: AccountStore; readonly sql: SqlClient } {
  let opened: { store: AccountStore; sql: SqlClient } | undefined;
  before(async () => {
    const sql = await db.connect();
    await migrate(sql);
    opened = { store: new AccountStore(sql), sql };
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
    get sql() {
      return get().sql;
    },
  };
}
