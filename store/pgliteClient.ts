import { PGlite, type Transaction } from '@electric-sql/pglite';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type SqlClient, type SqlExecutor } from './sqlClient';
import { StoreError } from './storeError';

/** Lock files this process holds: a second PGlite on the same directory, even in-process, loses writes. */
const heldLocks = new Set<string>();

/**
 * Opens an embedded PostgreSQL (PGlite). `dir` is the database directory (created if missing), or `null` for
 * an in-memory database that disappears on close.
 *
 * PGlite is single-process: a second instance on the same directory opens without complaint and its writes are
 * silently lost. So a file-backed client holds `${dir}.lock` (the owner's pid) until it is closed, and a second
 * opener fails fast with `store_locked`. A lock left by a dead process is taken over.
 */
export async function createPgliteClient(dir: string | null): Promise<SqlClient> {
  if (dir === null) return wrap(await PGlite.create(), async () => {});

  const dataDir = resolve(dir);
  const lockPath = `${dataDir}.lock`;
  await mkdir(dirname(dataDir), { recursive: true, mode: 0o700 });
  await acquireLock(lockPath, dataDir);
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    return wrap(await PGlite.create(dataDir), () => releaseLock(lockPath));
  } catch (err) {
    await releaseLock(lockPath);
    throw err;
  }
}

function wrap(db: PGlite, afterClose: () => Promise<void>): SqlClient {
  let closing: Promise<void> | undefined;
  return {
    ...executor(db),
    transaction: (fn) => db.transaction((tx) => fn(executor(tx))),
    close: () => {
      closing ??= db.close().finally(afterClose);
      return closing;
    },
  };
}

function executor(db: PGlite | Transaction): SqlExecutor {
  return {
    query: async <T>(sql: string, params: readonly unknown[] = []) => {
      const { rows } = await db.query<T>(sql, [...params]);
      return { rows };
    },
    exec: async (sql) => {
      await db.exec(sql);
    },
  };
}

async function acquireLock(lockPath: string, dataDir: string): Promise<void> {
  const locked = (owner: number | null) =>
    new StoreError(
      'store_locked',
      `The account store at ${dataDir} is already open in process ${owner ?? 'unknown'}: PGlite allows one ` +
        `process at a time. Stop that process (or, if none is running, remove ${lockPath}).`,
    );
  if (heldLocks.has(lockPath)) throw locked(process.pid);
  // Two attempts: the second follows the removal of a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockPath, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      heldLocks.add(lockPath);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readLockOwner(lockPath);
    // Our own pid in a lock we do not hold is a previous run in a container that reused the pid.
    if (owner !== null && owner !== process.pid && isAlive(owner)) throw locked(owner);
    await rm(lockPath, { force: true });
  }
  throw locked(await readLockOwner(lockPath));
}

async function readLockOwner(lockPath: string): Promise<number | null> {
  try {
    const pid = Number.parseInt((await readFile(lockPath, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function releaseLock(lockPath: string): Promise<void> {
  heldLocks.delete(lockPath);
  await rm(lockPath, { force: true });
}
