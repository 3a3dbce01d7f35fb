import { Pool } from 'undici';
import type { z } from 'zod';
import type { ServiceCredentials, ServiceName } from '../serviceAuth';

/**
 * The one way a process calls an internal service (the worker's activities call FAS, FAS calls SAS): one undici
 * keep-alive `Pool` per upstream origin, and on every call a service credential made for that one request
 * (lib/serviceAuth.ts: method, path and body, accepted once), the request id as `X-Request-Id`, and one deadline
 * for the whole call, connect, headers and body. The W3C trace headers are added by the undici instrumentation
 * when tracing is on (lib/telemetry.ts). Callers turn the two errors below into their own layer's answer.
 */

export interface ServiceClientOptions {
  /** The upstream's base URL, e.g. `http://127.0.0.1:3002`; a path prefix is kept. */
  baseUrl: string;
  /** The service that answers (the credentials' audience): named in errors. */
  service: ServiceName;
  /** The caller's credentials for `service`: a fresh one, for the call, as `Authorization` on every call. */
  credentials: ServiceCredentials;
  /** Deadline for the whole call: connect, send, headers and body. */
  timeoutMs: number;
  /** Keep-alive connections kept open to the upstream. */
  connections?: number;
}

export interface CallOptions {
  /** Forwarded as `X-Request-Id`. */
  requestId: string;
  /** Stops the call (a `cancelled` `ServiceTransportError`): the caller gave up on it. */
  signal?: AbortSignal | undefined;
}

/** An answer, read in full within the deadline. */
export interface ServiceReply {
  service: ServiceName;
  /** The path called, without the base URL's prefix. */
  path: string;
  status: number;
  /** The body parsed as JSON; undefined when it is not JSON. */
  body: unknown;
}

export interface ServiceClient {
  /** POSTs `body` as JSON and resolves with the answer, whatever its status; throws `ServiceTransportError`. */
  post(path: string, body: unknown, options: CallOptions): Promise<ServiceReply>;
  /** `post`, then `okBody`: the parsed body of a 200 that matches `reply`. */
  call<S extends z.ZodType>(path: string, body: unknown, reply: S, options: CallOptions): Promise<z.infer<S>>;
  close(): Promise<void>;
}

/** Why a call got no answer: a stable code for callers to classify, the underlying error as `cause`. */
export type TransportFailure = 'timeout' | 'cancelled' | 'connection_failed';

/** No answer: the upstream is unreachable, too slow (the deadline), or the caller cancelled the call. */
export class ServiceTransportError extends Error {
  override readonly name = 'ServiceTransportError';
  constructor(
    readonly code: TransportFailure,
    readonly service: ServiceName,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** An answer, but not the one expected: another status than 200, or a 200 whose body does not match. */
export class ServiceReplyError extends Error {
  override readonly name = 'ServiceReplyError';
  readonly code: 'unexpected_status' | 'malformed_reply';
  readonly status: number;
  constructor(reply: ServiceReply) {
    const { service, path, status } = reply;
    super(
      status === 200
        ? `${service} answered 200 on ${path} without a well-formed reply`
        : `${service} answered HTTP ${status} on ${path}`,
    );
    this.code = status === 200 ? 'malformed_reply' : 'unexpected_status';
    this.status = status;
  }
}

/**
 * The body of a 200 answer that matches `schema`, parsed (unknown keys stripped); anything else throws
 * `ServiceReplyError`, which never carries the body (it may hold a token).
 */
export function okBody<S extends z.ZodType>(reply: ServiceReply, schema: S): z.infer<S> {
  if (reply.status !== 200) throw new ServiceReplyError(reply);
  const parsed = schema.safeParse(reply.body);
  if (!parsed.success) throw new ServiceReplyError(reply);
  return parsed.data;
}

export function createServiceClient({
  baseUrl,
  service,
  credentials,
  timeoutMs,
  connections = 32,
}: ServiceClientOptions): ServiceClient {
  const url = new URL(baseUrl);
  const prefix = url.pathname.replace(/\/+$/, '');
  // Shorter than the services' 5 s keep-alive (lib/http/serve.ts), so a socket the server is closing is never reused.
  const pool = new Pool(url.origin, { connections, keepAliveTimeout: 4_000 });

  const post = async (
    path: string,
    body: unknown,
    { requestId, signal }: CallOptions,
  ): Promise<ServiceReply> => {
    const target = `${prefix}${path}`;
    const sent = JSON.stringify(body);
    // For this request only: its method, path and body, once (lib/serviceAuth.ts).
    const authorization = await credentials.authorization({ method: 'POST', path: target, body: sent });
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      const res = await pool.request({
        method: 'POST',
        path: target,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization,
          'x-request-id': requestId,
        },
        body: sent,
        // One deadline for the whole call: it aborts the body too, not just the wait for headers.
        signal: signal ? AbortSignal.any([deadline, signal]) : deadline,
      });
      const text = await res.body.text();
      return { service, path, status: res.statusCode, body: parseJson(text) };
    } catch (err) {
      if (deadline.aborted) {
        throw new ServiceTransportError(
          'timeout',
          service,
          `${service} did not answer within ${timeoutMs} ms`,
          {
            cause: err,
          },
        );
      }
      if (signal?.aborted) {
        throw new ServiceTransportError('cancelled', service, `the call to ${service} was cancelled`, {
          cause: err,
        });
      }
      throw new ServiceTransportError('connection_failed', service, `${service} is unreachable`, {
        cause: err,
      });
    }
  };

  async function call<S extends z.ZodType>(
    path: string,
    body: unknown,
    reply: S,
    options: CallOptions,
  ): Promise<z.infer<S>> {
    return okBody(await post(path, body, options), reply);
  }

  return { post, call, close: () => pool.close() };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
