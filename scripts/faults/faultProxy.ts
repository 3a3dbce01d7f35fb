import http from 'node:http';

/**
 * A tiny HTTP proxy in front of one internal service (FAS or SAS) for the fault suite, so that outages and slow
 * answers are injected from outside: no production code carries a test switch. Passes everything through until
 * told to fail or to stall.
 */
export interface FaultProxy {
  url: string;
  /** Answer every request with this status (e.g. 503) instead of forwarding; `null` forwards again. */
  failWith(status: number | null): void;
  /** Hold every request this long before forwarding it; 0 forwards at once. */
  delay(ms: number): void;
  /** Requests seen, and requests answered with the injected status. */
  stats(): { seen: number; failed: number };
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  let status: number | null = null;
  let delayMs = 0;
  let seen = 0;
  let failed = 0;

  const server = http.createServer((req, res) => {
    seen++;
    if (status !== null) {
      failed++;
      req.resume();
      const body = JSON.stringify({ code: 'unavailable', message: 'Injected by the fault suite.' });
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
    const forward = () => {
      if (res.destroyed) return;
      const out = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      res.on('close', () => out.destroy());
      req.pipe(out);
    };
    if (delayMs > 0) {
      // The body is buffered by the socket meanwhile; the caller's own timeout decides when it gives up.
      req.pause();
      setTimeout(forward, delayMs);
    } else {
      forward();
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `http://127.0.0.1:${port}`,
    failWith: (s) => {
      status = s;
    },
    delay: (ms) => {
      delayMs = ms;
    },
    stats: () => ({ seen, failed }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
