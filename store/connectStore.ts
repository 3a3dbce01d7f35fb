import { connect, type Socket } from 'node:net';
import { type AccountAdmin, type AccountAdminMethod } from './accountAdmin';
import { type AccountStore } from './accountStore';
import { StoreError, storeErrorCodes } from './storeError';

export interface ConnectStoreOptions {
  /** Per call: a worker that stopped answering fails the CLI instead of hanging it. */
  timeoutMs?: number;
}

type Result<M extends AccountAdminMethod> = Awaited<ReturnType<AccountStore[M]>>;
type Args<M extends AccountAdminMethod> = Parameters<AccountStore[M]>;

/**
 * Connects to the store a running worker serves on `socketPath` (see `serveStore`). The result behaves like the
 * store itself: same methods, same `StoreError` codes, dates as `Date`. Rejects with the socket's error (e.g.
 * `ENOENT`, `ECONNREFUSED`) when nothing listens there.
 */
export async function connectStore(
  socketPath: string,
  options: ConnectStoreOptions = {},
): Promise<AccountAdmin> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const socket = await open(socketPath, timeoutMs);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let buffered = '';

  const failAll = (err: Error) => {
    for (const { reject } of pending.values()) reject(err);
    pending.clear();
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const reply = JSON.parse(buffered.slice(0, newline), reviveDates) as Reply;
      buffered = buffered.slice(newline + 1);
      const waiter = pending.get(reply.id);
      pending.delete(reply.id);
      if (!waiter) continue;
      if (reply.error) waiter.reject(toError(reply.error));
      else waiter.resolve(reply.result);
    }
  });
  socket.on('error', (err) => failAll(err));
  socket.on('close', () => failAll(new Error('The worker closed the store connection')));

  const call = <M extends AccountAdminMethod>(method: M, ...args: Args<M>): Promise<Result<M>> =>
    new Promise((resolve, reject) => {
      if (socket.destroyed) {
        reject(new Error('The store connection is closed'));
        return;
      }
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`The worker did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as Result<M>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      socket.write(`${JSON.stringify({ id, method, args })}\n`);
    });

  return {
    listAccounts: () => call('listAccounts'),
    getAccount: (...a) => call('getAccount', ...a),
    createAccount: (...a) => call('createAccount', ...a),
    updateAccount: (...a) => call('updateAccount', ...a),
    addDeploymentKey: (...a) => call('addDeploymentKey', ...a),
    listDeploymentKeys: (...a) => call('listDeploymentKeys', ...a),
    revokeDeploymentKey: (...a) => call('revokeDeploymentKey', ...a),
    setFeatureFlag: async (...a) => {
      await call('setFeatureFlag', ...a);
    },
    close: async () => {
      if (socket.destroyed) return;
      await new Promise<void>((resolve) => socket.end(resolve));
      socket.destroy();
    },
  };
}

interface Reply {
  id: number;
  result?: unknown;
  error?: { code: string; message: string; issues?: { path: string; message: string }[] };
}

function open(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`No answer on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
  });
}

function toError(error: NonNullable<Reply['error']>): Error {
  const code = storeErrorCodes.find((c) => c === error.code);
  return code ? new StoreError(code, error.message, error.issues ?? []) : new Error(error.message);
}

const DATE_FIELDS = new Set(['createdAt', 'updatedAt', 'revokedAt']);

function reviveDates(key: string, value: unknown): unknown {
  return DATE_FIELDS.has(key) && typeof value === 'string' ? new Date(value) : value;
}
