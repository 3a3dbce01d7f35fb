import { serve, type Served } from '../../lib/http/serve';
import { createLogger, type Logger } from '../../lib/logger';
import { createScopedAuthApp } from './app';
import type { ScopedAuthConfig } from './config';
import { loadOrCreateKeys, type KeyRing } from './keys';

export interface ScopedAuthService extends Served {
  keys: KeyRing;
}

/** Loads (or creates) the keys and serves SAS in this process; `config.port` 0 picks a free port. */
export async function startScopedAuth(
  config: ScopedAuthConfig,
  logger: Logger = createLogger('scoped-auth', config.logLevel),
): Promise<ScopedAuthService> {
  const keys = await loadOrCreateKeys(config.keysDir);
  const app = createScopedAuthApp({ keys, issuer: config.issuer, audience: config.audience, logger });
  const served = await serve(app, config.port, config.host);
  logger.info(
    { url: served.url, signingKid: keys.current.signing.kid, encryptionKid: keys.current.encryption.kid },
    'scoped auth service listening',
  );
  return { ...served, keys };
}
