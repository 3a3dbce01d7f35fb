import { ServiceMetrics } from '../../lib/http/metrics';
import { serve, type Served } from '../../lib/http/serve';
import { createLogger, type Logger } from '../../lib/logger';
import { loadServiceCredentials, loadServiceSecret, requireService } from '../../lib/serviceAuth';
import { createFederatedAuthApp, OPEN_PATHS } from './app';
import type { FederatedAuthConfig } from './config';
import { createSasClient } from './sasClient';

/** Serves FAS in this process; `config.port` 0 picks a free port. `close` also closes the SAS connections. */
export async function startFederatedAuth(
  config: FederatedAuthConfig,
  logger: Logger = createLogger('federated-auth', config.logLevel),
): Promise<Served> {
  const authenticate = await requireService({
    audience: 'federated-auth',
    issuers: ['orchestrator'],
    secret: await loadServiceSecret(config.authSecret),
    open: OPEN_PATHS,
    log: logger,
  });
  const sas = createSasClient({
    baseUrl: config.sasUrl,
    timeoutMs: config.sasTimeoutMs,
    credentials: await loadServiceCredentials('federated-auth', 'scoped-auth', config.sasAuthSecret),
  });
  const app = createFederatedAuthApp({
    sas,
    logger,
    authenticate,
    metrics: new ServiceMetrics('federated-auth'),
  });
  const served = await serve(app, config.port, config.host, { release: () => sas.close() });
  logger.info({ url: served.url, sasUrl: config.sasUrl }, 'federated auth service listening');
  return served;
}
