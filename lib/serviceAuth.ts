import { randomUUID, webcrypto } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Middleware } from 'koa';
import { AppError } from '../domain/errors';
import type { Logger } from './logger';
import { loadSecret, type SecretSource } from './secrets/secret';

/**
 * Short-lived service credentials for the internal calls: the orchestrator's activities call FAS, FAS calls
 * SAS, and nothing else may. Each callee has its own HS256 secret, shared only with its one legitimate caller:
 * a credential made for FAS cannot be verified by SAS at all, and the orchestrator never holds SAS's secret.
 * HS256 rather than EdDSA because every secret has exactly two holders that trust each other, so public keys
 * would add key distribution without taking any power away from anyone.
 */

export const serviceNames = ['orchestrator', 'federated-auth', 'scoped-auth'] as const;
export type ServiceName = (typeof serviceNames)[number];

/** Explicit JWT type (RFC 8725 §3.11): a widget token, or any other JWT, never passes as a credential. */
const CREDENTIAL_TYPE = 'service+jwt';
/** The longest a credential lives; the verifier refuses anything that claims longer. */
export const MAX_CREDENTIAL_SECONDS = 60;
const CLOCK_TOLERANCE_SECONDS = 5;

export type { SecretSource };

/** A callee's secret (lib/secrets/secret.ts): the value, else the file, generated only outside production. */
export const loadServiceSecret = (source: SecretSource): Promise<Uint8Array> => loadSecret(source);

const importHmacKey = (secret: Uint8Array) =>
  webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);

export interface ServiceCredentials {
  /** The `Authorization` header value for the next call: `Bearer <jwt>`. */
  authorization(): Promise<string>;
}

export interface CredentialOptions {
  issuer: ServiceName;
  audience: ServiceName;
  secret: Uint8Array;
  /** Seconds, at most 60. */
  ttlSeconds?: number;
  /** The clock; tests pass a fixed one. */
  now?: () => Date;
}

/**
 * Mints credentials as `issuer` for `audience`. One credential is reused until half its life is gone, so a
 * busy caller signs about once every 30 s instead of on every call, and none it sends is older than 30 s.
 */
export async function createServiceCredentials(options: CredentialOptions): Promise<ServiceCredentials> {
  const ttl = options.ttlSeconds ?? MAX_CREDENTIAL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_CREDENTIAL_SECONDS) {
    throw new RangeError(`ttlSeconds must be an integer from 1 to ${MAX_CREDENTIAL_SECONDS}`);
  }
  const key = await importHmacKey(options.secret);
  const now = () => Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  let cached: { header: string; renewAt: number } | undefined;
  return {
    async authorization() {
      const iat = now();
      if (cached && iat < cached.renewAt) return cached.header;
      const jwt = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: CREDENTIAL_TYPE })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setJti(randomUUID())
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttl)
        .sign(key);
      cached = { header: `Bearer ${jwt}`, renewAt: iat + Math.floor(ttl / 2) };
      return cached.header;
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
  /** Paths that stay open (health, JWKS). Matched exactly. */
  open?: readonly string[];
  log: Logger;
  now?: () => Date;
}

/**
 * Koa middleware: every request except those to `open` paths must carry a valid credential, or it gets 401
 * `unauthorized` before its body is even parsed. Logs why a credential was refused (a jose error code), never
 * the credential itself.
 */
export async function requireService(options: RequireServiceOptions): Promise<Middleware> {
  const key = await importHmacKey(options.secret);
  const open = new Set(options.open ?? []);
  const issuers = [...options.issuers];
  return async (ctx, next) => {
    if (open.has(ctx.path)) {
      await next();
      return;
    }
    const reason = await refusal(ctx.get('authorization'));
    if (reason !== undefined) {
      options.log.warn({ requestId: ctx.state.requestId as unknown, reason }, 'service credential refused');
      throw new AppError('unauthorized', 'A valid service credential is required.', {
        'WWW-Authenticate': 'Bearer',
      });
    }
    await next();
  };

  async function refusal(header: string): Promise<string | undefined> {
    const match = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(header);
    if (!match?.[1]) return header === '' ? 'no_credential' : 'malformed_header';
    try {
      const { payload } = await jwtVerify(match[1], key, {
        algorithms: ['HS256'],
        typ: CREDENTIAL_TYPE,
        audience: options.audience,
        issuer: issuers,
        requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti'],
        maxTokenAge: MAX_CREDENTIAL_SECONDS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        ...(options.now ? { currentDate: options.now() } : {}),
      });
      // maxTokenAge bounds the age from iat; this bounds what the caller asked for.
      if (payload.exp! - payload.iat! > MAX_CREDENTIAL_SECONDS) return 'lifetime_too_long';
      return undefined;
    } catch (err) {
      if (err instanceof errors.JWTClaimValidationFailed) return `claim_${err.claim}`;
      if (err instanceof errors.JOSEError) return err.code;
      return 'malformed_credential';
    }
  }
}
