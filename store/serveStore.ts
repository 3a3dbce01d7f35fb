import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { type AccountAdmin, isAccountAdminMethod } from './accountAdmin';
import { StoreError } from './storeError';

/** A request line is an account's input at most; anything longer is not from our CLI. */
const MAX_LINE_BYTES = 1024 * 1024;
/** Linux's sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

export interface StoreServer {
  path: string;
  /** Stops listening, drops open connections and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Serves the admin methods of an open store on a Unix socket, so that the admin CLI can manage the embedded
 * store while this process holds it (PGlite allows one process). Each line in is a JSON request
 * `{id, method, args}`; each line out `{id, result}` or `{id, error: {code, message, issues}}`. Only the
 * methods of `AccountAdmin` can be called, and the store validates their input as for any caller.
 *
 * Access is the file system's: the socket sits in a folder of mode 0700 and is itself 0600, so only the user
 * running the service can connect, as with PostgreSQL's own Unix socket. Call this only while holding the store:
 * a socket file left by a crashed holder is removed first.
 */
export async function serveStore(store: AccountAdmin, socketPath: string): Promise<StoreServer> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new Error(
      `The store socket path ${socketPath} is too long for a Unix socket; use a shorter DATA_DIR`,
    );
  }
  const dir = dirname(socketPath);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await rm(socketPath, { force: true });

  const connections = new Set<Socket>();
  const server = createServer((socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    serveConnection(store, socket);
  });
  await listen(server, socketPath);
  await chmod(socketPath, 0o600);

  let closing: Promise<void> | undefined;
  return {
    path: socketPath,
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of connections) socket.destroy();
        await closed;
        await rm(socketPath, { force: true });
      })();
      return closing;
    },
  };
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Requests on one connection are answered in order, one at a time, as the CLI sends them. */
function serveConnection(store: AccountAdmin, socket: Socket): void {
  let buffered = '';
  let queue = Promise.resolve();
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (Buffer.byteLength(buffered) > MAX_LINE_BYTES) {
      socket.destroy();
      return;
    }
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      queue = queue.then(async () => {
        const reply = await answer(store, line);
        if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
      });
    }
  });
}

interface Reply {
  id: unknown;
  result?: unknown;
  error?: { code: string; message: string; issues?: readonly unknown[] };
}

async function answer(store: AccountAdmin, line: string): Promise<Reply> {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { id: null, error: { code: 'bad_request', message: 'The request is not JSON' } };
  }
  const { id, method, args } = (request ?? {}) as { id?: unknown; method?: unknown; args?: unknown };
  if (!isAccountAdminMethod(method) || !Array.isArray(args) || args.length > 3) {
    return { id, error: { code: 'bad_request', message: `Unknown method ${String(method)}` } };
  }
  try {
    const fn = store[method] as (...a: unknown[]) => Promise<unknown>;
    const result = await fn.apply(store, args);
    // `undefined` does not survive JSON; the client maps `null` back for void methods.
    return { id, result: result ?? null };
  } catch (err) {
    if (err instanceof StoreError) {
      return { id, error: { code: err.code, message: err.message, issues: err.issues } };
    }
    return { id, error: { code: 'store_failed', message: err instanceof Error ? err.message : String(err) } };
  }
}
