import { serve, type Served } from '../../lib/http/serve';
import { createLogger, type Logger } from '../../lib/logger';
import { createFederatedAuthApp } from './app';
import type { FederatedAuthConfig } from './config';
import { createSasClient } from './sasClient';

/** Serves FAS in this process; `config.port` 0 picks a free port. `close` also closes the SAS connections. */
export async function startFederatedAuth(
  config: FederatedAuthConfig,
  logger: Logger = createLogger('federated-auth', config.logLevel),
): Promise<Served> {
  const sas = createSasClient({ baseUrl: config.sasUrl, timeoutMs: config.sasTimeoutMs });
  const app = createFederatedAuthApp({ sas, logger });
  let served: Served;
  try {
    served = await serve(app, config.port, config.host);
  } catch (err) {
    await sas.close();
    throw err;
  }
  logger.info({ url: served.url, sasUrl: config.sasUrl }, 'federated auth service listening');
  return {
    ...served,
    close: async () => {
      await served.close();
      await sas.close();
    },
  };
}
