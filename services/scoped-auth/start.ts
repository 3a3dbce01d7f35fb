import { ServiceMetrics } from '../../lib/http/metrics';
import { serve, type Served } from '../../lib/http/serve';
import { createLogger, type Logger } from '../../lib/logger';
import { loadServiceSecret, requireService } from '../../lib/serviceAuth';
import { createScopedAuthApp, OPEN_PATHS } from './app';
import type { ScopedAuthConfig } from './config';
import type { KeyRing } from './keys';
import { loadReloadingKeyRing } from './reloadingKeyRing';

export interface ScopedAuthService extends Served {
  keys: KeyRing;
  /** Re-reads the key ring now (SIGHUP); true when it changed. */
  reloadKeys(): Promise<boolean>;
}

/** Loads (or creates) the keys and serves SAS in this process; `config.port` 0 picks a free port. */
export async function startScopedAuth(
  config: ScopedAuthConfig,
  logger: Logger = createLogger('scoped-auth', config.logLevel),
): Promise<ScopedAuthService> {
  const authSecret = await loadServiceSecret(config.authSecret);
  const ring = await loadReloadingKeyRing(config.keysDir, {
    intervalMs: config.keysReloadMs,
    log: logger,
    create: config.createKeys,
  });
  const { keys } = ring;
  const authenticate = await requireService({
    audience: 'scoped-auth',
    issuers: ['federated-auth'],
    secret: authSecret,
    open: OPEN_PATHS,
    log: logger,
  });
  const app = createScopedAuthApp({
    keys,
    issuer: config.issuer,
    audience: config.audience,
    logger,
    authenticate,
    metrics: new ServiceMetrics('scoped-auth'),
  });
  const served = await serve(app, config.port, config.host, { release: () => ring.close() });
  logger.info(
    { url: served.url, signingKid: keys.current.signing.kid, encryptionKid: keys.current.encryption.kid },
    'scoped auth service listening',
  );
  return {
    ...served,
    keys,
    reloadKeys: () => ring.reload(),
  };
}
