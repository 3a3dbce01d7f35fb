import { sql } from 'kysely';
import type { StoreDatabase } from '../../store/database';

/** The store's own tables (Kysely's migration bookkeeping left out), the same on both backends. */
async function storeTables(database: StoreDatabase): Promise<string[]> {
  const schema =
    database.dialect === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(database.db)).rows[0]
          ?.schema
      : undefined;
  const tables = await database.db.introspection.getTables();
  return tables.filter((t) => t.schema === schema).map((t) => t.name);
}

/** How many rows `table` holds. */
export async function countRows(database: StoreDatabase, table: string): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(
    database.db,
  );
  return Number(rows[0]?.n ?? -1);
}

/** Every row of every table of the store, as JSON lines, bytes as hex: what someone who copies the file gets. */
export async function dumpTables(database: StoreDatabase): Promise<string> {
  const lines: string[] = [];
  for (const table of await storeTables(database)) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(
      database.db,
    );
    for (const row of rows) {
      lines.push(
        JSON.stringify(row, (_key, value: unknown) =>
          value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer'
            ? Buffer.from((value as { data: number[] }).data).toString('hex')
            : value,
        ),
      );
    }
  }
  return lines.join('\n');
}
