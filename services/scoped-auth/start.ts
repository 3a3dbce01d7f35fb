import { ServiceMetrics } from '../../lib/http/metrics';
import { serve, type Served } from '../../lib/http/serve';
import { createLogger, type Logger } from '../../lib/logger';
import { openReplayCache } from '../../lib/replayCache';
import { credentialReplays, loadServiceSecret, requireService } from '../../lib/serviceAuth';
import { openSessionStore } from '../../store/openSessionStore';
import type { SessionStore } from '../../store/sessionStore';
import { createScopedAuthApp, OPEN_PATHS } from './app';
import type { ScopedAuthConfig } from './config';
import type { KeyRing } from './keys';
import { loadReloadingKeyRing } from './reloadingKeyRing';

export interface ScopedAuthService extends Served {
  keys: KeyRing;
  /** Re-reads the key ring now (SIGHUP); true when it changed. */
  reloadKeys(): Promise<boolean>;
  /** The refresh and revocation state this instance reads. */
  sessions: SessionStore;
}

export interface ScopedAuthOptions {
  /** The clock of tokens, refreshes and revocation checks; tests pass one they move. */
  now?: () => Date;
}

/** How often expired refresh records and revocations are deleted. */
const PRUNE_INTERVAL_MS = 10 * 60_000;

/**
 * Loads (or creates) the keys, opens the session store and serves SAS in this process; `config.port` 0 picks a
 * free port.
 */
export async function startScopedAuth(
  config: ScopedAuthConfig,
  logger: Logger = createLogger('scoped-auth', config.logLevel),
  options: ScopedAuthOptions = {},
): Promise<ScopedAuthService> {
  const authSecret = await loadServiceSecret(config.authSecret);
  const ring = await loadReloadingKeyRing(config.keysDir, {
    intervalMs: config.keysReloadMs,
    log: logger,
    create: config.createKeys,
  });
  const { keys } = ring;
  let sessions: SessionStore;
  try {
    sessions = await openSessionStore(config.sessions);
  } catch (err) {
    ring.close();
    throw err;
  }
  const pruneNow = () =>
    sessions.prune(options.now?.() ?? new Date()).then(
      (pruned) => logger.debug(pruned, 'expired refresh records and revocations pruned'),
      (err: unknown) => logger.warn({ err }, 'pruning the session store failed; the next round retries'),
    );
  const pruning = setInterval(() => void pruneNow(), PRUNE_INTERVAL_MS);
  pruning.unref();
  const metrics = new ServiceMetrics('scoped-auth');
  const replays = await credentialReplays(config.replays, logger, metrics.registry);
  const proofReplays = await openReplayCache('dpop_proofs', config.replays, logger, metrics.registry);
  const release = async () => {
    clearInterval(pruning);
    ring.close();
    await sessions.close();
    await replays.close();
    await proofReplays.close();
  };
  const authenticate = await requireService({
    audience: 'scoped-auth',
    issuers: ['federated-auth'],
    secret: authSecret,
    replays,
    open: OPEN_PATHS,
    log: logger,
  });
  const app = createScopedAuthApp({
    keys,
    issuer: config.issuer,
    audience: config.audience,
    logger,
    authenticate,
    metrics,
    sessions,
    proofReplays,
    sessionPolicy: {
      maxAgeSeconds: config.sessions.maxAgeSeconds,
      reuseGraceSeconds: config.sessions.reuseGraceSeconds,
    },
    ...(options.now ? { now: options.now } : {}),
  });
  const served = await serve(app, config.port, config.host, { release });
  logger.info(
    { url: served.url, signingKid: keys.current.signing.kid, encryptionKid: keys.current.encryption.kid },
    'scoped auth service listening',
  );
  return {
    ...served,
    keys,
    sessions,
    reloadKeys: () => ring.reload(),
  };
}
