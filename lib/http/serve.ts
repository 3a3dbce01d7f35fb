import { type Server } from 'node:http';
import type Koa from 'koa';
import type { Logger } from '../logger';

export interface Served {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (port 0 picks a free one, which tests use) and returns a close function that stops
 * accepting, lets in-flight requests finish, then closes idle keep-alive sockets.
 */
export async function serve(
  app: Koa,
  port: number,
  host = '127.0.0.1',
  opts: { requestTimeoutMs?: number } = {},
): Promise<Served> {
  const server = app.listen({ port, host });
  // Slow clients (slowloris) are cut off instead of holding a socket forever.
  server.requestTimeout = opts.requestTimeoutMs ?? 15_000;
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    server,
    url: `http://${host}:${actualPort}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits; a second signal exits at once. */
export function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}
