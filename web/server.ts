import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import type { Logger } from '../lib/logger';

export interface WebServerOptions {
  /** The folder served as `/`; nothing outside it is ever read. */
  publicDir: string;
  /** The edge's public origin, handed to the page as the module `/config.js`. */
  edgeUrl: string;
  logger: Logger;
}

/** Only these file types are served: anything else in the folder (or a new kind of file) stays private. */
const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * The demo page's static server: `GET`/`HEAD` of the files in `publicDir`, `/config.js` (the edge URL, so the
 * page needs no build step), `/healthz`. Every answer is `no-store`, so a reload always runs the current
 * page, and carries a CSP that lets the page's scripts talk to the edge and nowhere else.
 * Returns the request handler, which `serve` (lib/http/serve.ts) listens with, once per origin.
 */
export function createWebHandler({ publicDir, edgeUrl, logger }: WebServerOptions): RequestListener {
  const root = resolve(publicDir);
  const configModule = `export const edgeUrl = ${JSON.stringify(edgeUrl)};\n`;
  const securityHeaders: Record<string, string> = {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': [
      "default-src 'self'",
      `connect-src ${edgeUrl}`,
      "img-src 'self' data:",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ].join('; '),
  };

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, {
      ...securityHeaders,
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };
  const text = (res: ServerResponse, status: number, message: string) =>
    send(res, status, 'text/plain; charset=utf-8', `${message}\n`);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return text(res, 405, 'Method not allowed');
    }
    const pathname = pathOf(req.url);
    if (pathname === undefined) return text(res, 400, 'Bad request');
    if (pathname === '/healthz') return send(res, 200, 'application/json', '{"status":"ok"}');
    if (pathname === '/config.js') return send(res, 200, contentTypes['.js']!, configModule);

    const file = fileFor(root, pathname === '/' ? '/index.html' : pathname);
    const type = file && contentTypes[extname(file).toLowerCase()];
    if (!file || !type) return text(res, 404, 'Not found');
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return text(res, 404, 'Not found');

    res.writeHead(200, { ...securityHeaders, 'Content-Type': type, 'Content-Length': info.size });
    if (req.method === 'HEAD') return void res.end();
    const stream = createReadStream(file);
    stream.once('error', (err) => {
      logger.warn({ err, path: pathname }, 'read failed');
      res.destroy();
    });
    stream.pipe(res);
  };

  return (req, res) => {
    const started = performance.now();
    res.once('close', () =>
      logger.debug(
        {
          method: req.method,
          path: pathOf(req.url) ?? '(bad)',
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
        },
        'request',
      ),
    );
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, 'request failed');
      if (!res.headersSent) text(res, 500, 'Internal error');
      else res.destroy();
    });
  };
}

/** The decoded path of a request target, or undefined when it cannot be decoded or names no file safely. */
function pathOf(url: string | undefined): string | undefined {
  if (!url?.startsWith('/')) return undefined;
  try {
    const pathname = decodeURIComponent(new URL(url, 'http://web.invalid').pathname);
    return pathname.includes('\0') || pathname.includes('\\') ? undefined : pathname;
  } catch {
    return undefined;
  }
}

/**
 * The file under `root` that `pathname` names, or undefined when it would leave `root` (`..`, an encoded
 * `%2e%2e`, which the URL parser does not collapse) or names a dotfile.
 */
export function fileFor(root: string, pathname: string): string | undefined {
  const segments = pathname.split('/').filter((s) => s !== '');
  if (segments.some((s) => s.startsWith('.'))) return undefined;
  const file = resolve(join(root, ...segments));
  return file.startsWith(root + sep) ? file : undefined;
}
