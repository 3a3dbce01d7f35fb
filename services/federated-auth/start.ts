import { ServiceMetrics } from '../../lib/http/metrics';
import { serve, type Served } from '../../lib/http/serve';
import { createLogger, type Logger } from '../../lib/logger';
import {
  credentialReplays,
  loadServiceCredentials,
  loadServiceSecret,
  requireService,
} from '../../lib/serviceAuth';
import { createFederatedAuthApp, OPEN_PATHS } from './app';
import type { FederatedAuthConfig } from './config';
import { createSasClient } from './sasClient';

/** Serves FAS in this process; `config.port` 0 picks a free port. `close` also closes the SAS connections. */
export async function startFederatedAuth(
  config: FederatedAuthConfig,
  logger: Logger = createLogger('federated-auth', config.logLevel),
): Promise<Served> {
  const secret = await loadServiceSecret(config.authSecret);
  const credentials = await loadServiceCredentials('federated-auth', 'scoped-auth', config.sasAuthSecret);
  const metrics = new ServiceMetrics('federated-auth');
  const replays = await credentialReplays(config.replays, logger, metrics.registry);
  const authenticate = await requireService({
    audience: 'federated-auth',
    issuers: ['orchestrator'],
    secret,
    replays,
    open: OPEN_PATHS,
    log: logger,
  });
  const sas = createSasClient({ baseUrl: config.sasUrl, timeoutMs: config.sasTimeoutMs, credentials });
  const app = createFederatedAuthApp({ sas, logger, authenticate, metrics });
  const release = async () => {
    await sas.close();
    await replays.close();
  };
  const served = await serve(app, config.port, config.host, { release });
  logger.info({ url: served.url, sasUrl: config.sasUrl }, 'federated auth service listening');
  return served;
}
