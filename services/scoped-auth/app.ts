import Router from '@koa/router';
import type Koa from 'koa';
import { type Middleware } from 'koa';
import { Counter } from 'prom-client';
import { logIssuedToken } from '../../lib/http/accessLog';
import { internalServiceApp, type ServiceState } from '../../lib/http/internalServiceApp';
import type { ServiceMetrics } from '../../lib/http/metrics';
import type { Logger } from '../../lib/logger';
import type { SessionStore } from '../../store/sessionStore';
import type { KeyRing } from './keys';
import {
  sasGenerateRequestSchema,
  sasRefreshRequestSchema,
  sasValidateRequestSchema,
} from '../../domain/contracts';
import { parseRequest } from '../../lib/http/parseRequest';
import { rotateToken, type SessionPolicy } from './rotateToken';
import {
  type DpopPresentation,
  mintToken,
  validateToken,
  validateTokenInternal,
  type TokenClaims,
} from './tokens';
import { type ProofReplayCache, verifyDpopProof } from '../../lib/dpop/dpopProof';

/**
 * Routes any caller may use: health checks and the public signing keys (and `/metrics`, for the scraper: see
 * lib/http/internalServiceApp.ts). Everything else needs FAS's credential.
 */
export const OPEN_PATHS = ['/healthz', '/.well-known/jwks.json'] as const;

export interface ScopedAuthDeps {
  keys: KeyRing;
  issuer: string;
  audience: string;
  logger: Logger;
  /** Refuses any caller but FAS outside `OPEN_PATHS` (lib/serviceAuth.ts `requireService`). */
  authenticate: Middleware;
  /** Prometheus metrics: requests by route and status, and `GET /metrics` for the scraper (no credential). */
  metrics?: ServiceMetrics;
  /** Refresh records and revocations, shared by every SAS instance and the admin CLI. */
  sessions: SessionStore;
  /** The ids of DPoP proofs presented at validate (lib/replayCache.ts), shared by every SAS instance. */
  proofReplays: ProofReplayCache;
  sessionPolicy: SessionPolicy;
  /** The clock; tests pass one they move. */
  now?: () => Date;
}

/** The scoped auth service (SAS) as a Koa app, not yet listening. */
export function createScopedAuthApp(deps: ScopedAuthDeps): Koa<ServiceState> {
  const { keys, logger, authenticate, metrics } = deps;
  const router = new Router<ServiceState>();
  addGenerateRoute(router, deps);
  addValidateRoutes(router, deps);
  addRefreshRoute(router, deps);

  router.get('/.well-known/jwks.json', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = keys.jwks;
  });

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  return internalServiceApp({ router, logger, authenticate, metrics });
}

/** Who signs and for whom, and the clock: what minting, validating and rotating all check against. */
function tokenPolicy({ issuer, audience, now }: ScopedAuthDeps) {
  return { issuer, audience, ...(now ? { now } : {}) };
}

/** Issuance starts a session and pays no database round trip: only validate and refresh read the store. */
function addGenerateRoute(router: Router<ServiceState>, deps: ScopedAuthDeps): void {
  const { keys, sessionPolicy } = deps;
  const policy = tokenPolicy(deps);
  router.post('/v1/ScopedAuthTokens/generate/internal', async (ctx) => {
    const request = parseRequest(sasGenerateRequestSchema, ctx.request.body);
    const { accountSid, grants, ttl, fingerprint, fingerprintLevel, sessionMaxAge, jkt } = request;
    const issued = await mintToken(
      keys,
      {
        accountSid,
        grants,
        ttl,
        fingerprint,
        fingerprintLevel,
        sessionMaxAge: sessionMaxAge ?? sessionPolicy.maxAgeSeconds,
        jkt,
      },
      policy,
    );
    logIssuedToken(ctx, accountSid, issued.identity, request);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = issued;
  });
}

/**
 * validate, for a chat backend (through FAS's credential), and validate/internal, the same checks plus the token's
 * binding level, for inspecting a token (tests, or by hand with scripts/service-credential.ts).
 */
function addValidateRoutes(router: Router<ServiceState>, deps: ScopedAuthDeps): void {
  const { keys, logger, sessions, proofReplays, now } = deps;
  const policy = tokenPolicy(deps);
  // A chat backend passes on the proof it received with the token: each proof is accepted once, fleet-wide.
  const verifyProof = async ({ proof, method, url }: DpopPresentation, token: string) =>
    (
      await verifyDpopProof(proof, {
        method,
        url,
        accessToken: token,
        replay: proofReplays,
        ...(now && { now }),
      })
    ).jkt;
  // Read on every validate, never cached: a revocation holds at once in every instance.
  const isRevoked = (claims: TokenClaims) =>
    sessions.isRevoked(
      {
        sessionId: claims.sessionId,
        identity: claims.identity,
        accountSid: claims.sub,
        issuedAt: claims.iat,
      },
      now?.() ?? new Date(),
    );

  for (const [path, check] of [
    ['/v1/ScopedAuthTokens/validate', validateToken],
    ['/v1/ScopedAuthTokens/validate/internal', validateTokenInternal],
  ] as const) {
    router.post(path, async (ctx) => {
      const { token, fingerprint, dpop } = parseRequest(sasValidateRequestSchema, ctx.request.body);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = await check(
        keys,
        token,
        { fingerprint, dpop },
        {
          ...policy,
          isRevoked,
          verifyProof,
          log: logger.child({ requestId: ctx.state.requestId }),
        },
      );
    });
  }
}

/** FAS's refresh: a refusal is a 200 with `outcome: 'refused'`, which FAS turns into its 403. */
function addRefreshRoute(router: Router<ServiceState>, deps: ScopedAuthDeps): void {
  const { keys, logger, metrics, sessions, sessionPolicy } = deps;
  const policy = { ...tokenPolicy(deps), ...sessionPolicy };
  const sessionsRevoked =
    metrics &&
    new Counter({
      name: 'sas_sessions_revoked_total',
      help: 'Sessions a refresh revoked, by why: a spent token presented again, or fingerprints that kept failing.',
      labelNames: ['reason'],
      registers: [metrics.registry],
    });
  router.post('/v1/ScopedAuthTokens/refresh/internal', async (ctx) => {
    const request = parseRequest(sasRefreshRequestSchema, ctx.request.body);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await rotateToken(
      {
        keys,
        sessions,
        policy,
        log: logger.child({ requestId: ctx.state.requestId }),
        sessionRevoked: (reason) => sessionsRevoked?.inc({ reason }),
      },
      request,
    );
  });
}
