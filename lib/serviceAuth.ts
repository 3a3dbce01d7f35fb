import { createHash, randomUUID, webcrypto } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Context, Middleware } from 'koa';
import { AppError } from '../domain/errors';
import { INTERNAL_BODY_LIMIT_BYTES, readRawBody } from './http/rawBody';
import type { Logger } from './logger';
import type { Registry } from 'prom-client';
import { openReplayCache, type ReplayCache, type ReplaySettings } from './replayCache';
import { loadSecret, type SecretSource } from './secrets/secret';

/**
 * Service credentials for the internal calls: the orchestrator's activities call FAS, FAS calls SAS, and nothing
 * else may. Each callee has its own HS256 secret, shared only with its one legitimate caller: a credential made
 * for FAS cannot be verified by SAS at all, and the orchestrator never holds SAS's secret. HS256 rather than
 * EdDSA because every secret has exactly two holders that trust each other, so public keys would add key
 * distribution without taking any power away from anyone.
 *
 * A credential covers one request and is accepted once: it names the method (`htm`), the request target as sent
 * (`htp`, path and query) and the SHA-256 of the body (`bsh`), lives `MAX_CREDENTIAL_SECONDS`, and its `jti`
 * is remembered by a replay cache the callee's instances share. Seen on the wire, it can neither be sent with
 * another body (another account, TTL, fingerprint) nor be sent again.
 */

export const serviceNames = ['orchestrator', 'federated-auth', 'scoped-auth'] as const;
export type ServiceName = (typeof serviceNames)[number];

/** Explicit JWT type (RFC 8725 §3.11): a widget token, or any other JWT, never passes as a credential. */
const CREDENTIAL_TYPE = 'service+jwt';
/** The longest a credential lives; the verifier refuses anything that claims longer. */
const MAX_CREDENTIAL_SECONDS = 10;
/** How far apart the caller's and the callee's clocks may be. */
const CLOCK_TOLERANCE_SECONDS = 5;

export type { SecretSource };

/** A callee's secret (lib/secrets/secret.ts): the value, else the file, generated only outside production. */
export const loadServiceSecret = (source: SecretSource): Promise<Uint8Array> => loadSecret(source);

const importHmacKey = (secret: Uint8Array) =>
  webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);

/** `bsh`: base64url of the SHA-256 of the body bytes (of the empty string for a request without a body). */
export const bodyHash = (body: string | Uint8Array): string =>
  createHash('sha256').update(body).digest('base64url');

/** `htp` for a URL: its path and query, as a client puts them in the request line. */
export const requestTarget = (url: string): string => {
  const { pathname, search } = new URL(url);
  return `${pathname}${search}`;
};

/** The one request a credential is for. */
export interface CoveredRequest {
  method: string;
  /** The request target as sent: path and query (`requestTarget`). */
  path: string;
  /** The body exactly as sent. */
  body: string | Uint8Array;
}

export interface ServiceCredentials {
  /** The `Authorization` header value for exactly this request, once: `Bearer <jwt>`. */
  authorization(request: CoveredRequest): Promise<string>;
}

export interface CredentialOptions {
  issuer: ServiceName;
  audience: ServiceName;
  secret: Uint8Array;
  /** Seconds, at most `MAX_CREDENTIAL_SECONDS`. */
  ttlSeconds?: number;
  /** The clock; tests pass a fixed one. */
  now?: () => Date;
}

/** Mints credentials as `issuer` for `audience`: a fresh one per request (an HMAC costs microseconds). */
export async function createServiceCredentials(options: CredentialOptions): Promise<ServiceCredentials> {
  const ttl = options.ttlSeconds ?? MAX_CREDENTIAL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_CREDENTIAL_SECONDS) {
    throw new RangeError(`ttlSeconds must be an integer from 1 to ${MAX_CREDENTIAL_SECONDS}`);
  }
  const key = await importHmacKey(options.secret);
  const now = () => Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  return {
    async authorization({ method, path, body }) {
      const iat = now();
      const jwt = await new SignJWT({ htm: method.toUpperCase(), htp: path, bsh: bodyHash(body) })
        .setProtectedHeader({ alg: 'HS256', typ: CREDENTIAL_TYPE })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setJti(randomUUID())
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttl)
        .sign(key);
      return `Bearer ${jwt}`;
    },
  };
}

/** Credentials from a secret source, for a process's start-up code. */
export async function loadServiceCredentials(
  issuer: ServiceName,
  audience: ServiceName,
  source: SecretSource,
): Promise<ServiceCredentials> {
  return createServiceCredentials({ issuer, audience, secret: await loadServiceSecret(source) });
}

export interface RequireServiceOptions {
  /** This service: credentials for anyone else are refused. */
  audience: ServiceName;
  /** The callers this service accepts. */
  issuers: readonly ServiceName[];
  secret: Uint8Array;
  /** Where accepted `jti`s are remembered: shared by every instance of this service (lib/replayCache.ts). */
  replays: ReplayCache;
  /** Paths that stay open (health, JWKS). Matched exactly. */
  open?: readonly string[];
  /** The largest body read to check its hash (the JSON parser's limit). */
  bodyLimitBytes?: number;
  log: Logger;
  now?: () => Date;
}

/**
 * Koa middleware: every request except those to `open` paths must carry a credential for exactly this request,
 * not seen before, or it gets 401 `unauthorized`. The signature, lifetime, method and path are checked before
 * the body is read (an unauthenticated caller learns nothing about its body); then the body's hash, on the bytes
 * the JSON parser will parse; the `jti` is recorded last, so a copy sent with another body cannot spend the
 * original's. Logs why a credential was refused, never the credential itself.
 */
export async function requireService(options: RequireServiceOptions): Promise<Middleware> {
  const key = await importHmacKey(options.secret);
  const open = new Set(options.open ?? []);
  const issuers = [...options.issuers];
  const limit = options.bodyLimitBytes ?? INTERNAL_BODY_LIMIT_BYTES;
  const clock = () => options.now?.() ?? new Date();

  const refuse = (ctx: Context, reason: string): never => {
    options.log.warn({ requestId: ctx.state.requestId as unknown, reason }, 'service credential refused');
    throw new AppError('unauthorized', 'A valid service credential is required.', {
      'WWW-Authenticate': 'Bearer',
    });
  };

  return async (ctx, next) => {
    if (open.has(ctx.path)) {
      await next();
      return;
    }
    const verified = await verify(ctx.get('authorization'));
    if (typeof verified === 'string') refuse(ctx, verified);
    const claims = verified as Required<JWTPayload> & { htm: unknown; htp: unknown; bsh: unknown };
    if (claims.htm !== ctx.method) refuse(ctx, 'claim_htm');
    if (claims.htp !== ctx.url) refuse(ctx, 'claim_htp');
    if (claims.bsh !== bodyHash(await readRawBody(ctx, limit))) refuse(ctx, 'body_mismatch');
    // Remembered while it could still be accepted: until `exp`, plus the tolerance of a slow clock.
    const ttl = claims.exp + CLOCK_TOLERANCE_SECONDS - Math.floor(clock().getTime() / 1000);
    if (!(await options.replays.firstUse(`service:${options.audience}:${claims.jti}`, ttl))) {
      refuse(ctx, 'replayed');
    }
    await next();
  };

  /** The verified claims, or why the credential is refused. */
  async function verify(header: string): Promise<JWTPayload | string> {
    const match = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(header);
    if (!match?.[1]) return header === '' ? 'no_credential' : 'malformed_header';
    try {
      const { payload } = await jwtVerify(match[1], key, {
        algorithms: ['HS256'],
        typ: CREDENTIAL_TYPE,
        audience: options.audience,
        issuer: issuers,
        requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti', 'htm', 'htp', 'bsh'],
        maxTokenAge: MAX_CREDENTIAL_SECONDS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: clock(),
      });
      // maxTokenAge bounds the age from iat; this bounds what the caller asked for.
      if (payload.exp! - payload.iat! > MAX_CREDENTIAL_SECONDS) return 'lifetime_too_long';
      return payload;
    } catch (err) {
      if (err instanceof errors.JWTClaimValidationFailed) return `claim_${err.claim}`;
      if (err instanceof errors.JOSEError) return err.code;
      return 'malformed_credential';
    }
  }
}

/** Where a service remembers the credentials it accepted (`REDIS_URL`, `REPLAY_KEY_PREFIX`). */
/** The replay cache of a callee's service credentials (lib/replayCache.ts `openReplayCache`). */
export const credentialReplays = (
  settings: ReplaySettings | undefined,
  logger: Logger,
  registry?: Registry,
) => openReplayCache('service_credentials', settings, logger, registry);
