import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { embeddedSocketPath, MAX_SOCKET_PATH_BYTES } from './embeddedSocket';
import { StoreError } from './storeError';

/** Lock files this process holds: a second PGlite on the same directory, even in-process, loses writes. */
const heldLocks = new Set<string>();

/**
 * Connections served at once. PGlite runs one statement at a time; the socket server queues statements of all
 * connections and lets a connection inside a transaction run alone until it ends. Enough for the worker's and
 * the API's pools, a few CLI runs and a SAS beside them.
 */
const MAX_CONNECTIONS = 64;

export interface EmbeddedServer {
  /** The folder of the socket (`host` for `pg`). */
  socketDir: string;
  /** Stops serving (open connections are dropped, an open transaction rolled back), then closes PGlite. */
  close(): Promise<void>;
}

/**
 * Opens the embedded PostgreSQL (PGlite) and serves it over the PostgreSQL wire protocol on a Unix socket in
 * `socketDir`, so that every process reaches it with `pg`, as it would a PostgreSQL server. `dir` is the database
 * directory (created if missing), or `null` for an in-memory database that disappears on close.
 *
 * PGlite is single-process: a second instance on the same directory opens without complaint and its writes are
 * silently lost. So a file-backed server holds `${dir}.lock` (the owner's pid) until it is closed, and a second
 * one fails fast with `store_locked`. A lock left by a dead process is taken over, and so is its socket file.
 *
 * Access is the file system's: the socket folder is 0700 and the socket 0600, so only the user running the
 * service can connect, as with PostgreSQL's own Unix socket (PGlite has no passwords).
 */
export async function serveEmbeddedStore(dir: string | null, socketDir: string): Promise<EmbeddedServer> {
  const socketPath = embeddedSocketPath(resolve(socketDir));
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new Error(
      `The store socket path ${socketPath} is too long for a Unix socket; use a shorter DATA_DIR`,
    );
  }
  const release = dir === null ? async () => {} : await lockDataDir(resolve(dir));
  let db: PGlite | undefined;
  try {
    if (dir !== null) await mkdir(resolve(dir), { recursive: true, mode: 0o700 });
    db = dir === null ? await PGlite.create() : await PGlite.create(resolve(dir));
    await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
    await chmod(dirname(socketPath), 0o700);
    // Only the lock holder gets here: a socket file still there was left by a holder that died.
    await rm(socketPath, { force: true });
    const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: MAX_CONNECTIONS });
    await server.start();
    await chmod(socketPath, 0o600);
    const opened = db;
    let closing: Promise<void> | undefined;
    return {
      socketDir: dirname(socketPath),
      close: () => {
        closing ??= (async () => {
          try {
            await server.stop();
            await rm(socketPath, { force: true });
          } finally {
            await opened.close().finally(release);
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    await db?.close().catch(() => {});
    await release();
    throw err;
  }
}

/** Takes `${dataDir}.lock`; resolves to its release. */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = `${dataDir}.lock`;
  await mkdir(dirname(dataDir), { recursive: true, mode: 0o700 });
  await acquireLock(lockPath, dataDir);
  return () => releaseLock(lockPath);
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
