import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Sends bytes exactly as given over a fresh TCP connection and reads the answer until the server closes it, or
 * rejects after `timeoutMs` (a hang). Lets tests send what `fetch` refuses to: broken headers, raw bytes.
 */
export function rawRequest(url: string, request: Buffer, timeoutMs = 5000): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    // The server may answer and close before it has read everything we sent: that is an answer, not an error.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.end(request);
  });
}

/** One HTTP/1.1 response with a Content-Length body (what our services send). */
export function parseResponse(raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete response head in ${JSON.stringify(raw.toString('latin1'))}`);
  const [statusLine = '', ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
  if (!match) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  return { status: Number(match[1]), headers, body: raw.subarray(end + 4, end + 4 + length) };
}

/** A request as raw bytes; `Content-Length` is the body's real length, `Connection: close` ends the exchange. */
export function buildRequest(
  head: { method?: string; path?: string; headers: [string, string | Buffer][] },
  body: Buffer,
): Buffer {
  const lines: Buffer[] = [
    Buffer.from(`${head.method ?? 'POST'} ${head.path ?? '/v2/Webchat/Token'} HTTP/1.1\r\n`),
  ];
  const all: [string, string | Buffer][] = [
    ['Host', '127.0.0.1'],
    ...head.headers,
    ['Content-Length', String(body.length)],
    ['Connection', 'close'],
  ];
  for (const [name, value] of all) {
    lines.push(
      Buffer.from(`${name}: `),
      Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'),
      Buffer.from('\r\n'),
    );
  }
  lines.push(Buffer.from('\r\n'), body);
  return Buffer.concat(lines);
}
