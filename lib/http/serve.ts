import {
  STATUS_CODES,
  createServer,
  type RequestListener,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';

export interface Served {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * How every HTTP service listens (the Koa apps and the edge): on `host:port` (port 0 picks a free one, which
 * tests use), with the hardened timeouts and JSON answers to malformed requests below; returns a close function
 * that stops accepting, lets in-flight requests finish, then closes idle keep-alive sockets.
 *
 * Node's `server.close()` only ends connections idle at that moment; a keep-alive connection busy then would
 * stay open until its keep-alive timeout. So once closing, every answer says `Connection: close` and its socket
 * ends after it, and whatever is still open after `drainTimeoutMs` is cut.
 */
export async function serve(
  app: Koa | RequestListener,
  port: number,
  host = '127.0.0.1',
  opts: {
    requestTimeoutMs?: number;
    drainTimeoutMs?: number;
    /** What the app holds besides the server (clients, key reloads): released when listening fails or after close. */
    release?: () => Promise<void> | void;
  } = {},
): Promise<Served> {
  const server = createServer(hardenedServerOptions(opts.requestTimeoutMs ?? 15_000));
  server.on('clientError', answerClientError);
  let closing = false;
  const inFlight = new Set<ServerResponse>();
  // Before the app's handler, which may answer at once (the edge's own routes): a request that arrives on a
  // keep-alive connection while closing gets `Connection: close` before its headers go out.
  server.on('request', (_req, res: ServerResponse) => {
    if (closing) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  server.on('request', typeof app === 'function' ? app : app.callback());
  server.listen({ port, host });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (err) {
    await opts.release?.();
    throw err;
  }
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        closing = true;
        for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
        const cut = setTimeout(() => server.closeAllConnections(), opts.drainTimeoutMs ?? 30_000);
        server.close((err) => {
          clearTimeout(cut);
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      });
      await opts.release?.();
    },
  };
}

/**
 * Slow clients (slowloris) are cut off instead of holding a socket forever. Node enforces these timeouts only
 * when it checks its connections (every 30 s by default), so the check runs often enough to honour them.
 */
function hardenedServerOptions(requestTimeout: number): ServerOptions {
  return {
    requestTimeout,
    headersTimeout: Math.min(requestTimeout, 10_000),
    keepAliveTimeout: 5_000,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(requestTimeout / 4))),
  };
}

/**
 * Requests Node refuses before any middleware runs (malformed request line or headers, headers too large, too
 * slow) still get our JSON `{code, message}` instead of Node's bare status line.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'The request took too long to arrive.']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'The request headers are too large.']
        : [400, 'invalid_request', 'The request is not valid HTTP.'];
  const body = JSON.stringify({ code, message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Access-Control-Allow-Origin: *\r\n' +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
}
