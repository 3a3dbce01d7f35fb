import { join } from 'node:path';
import { loadServiceCredentials, type ServiceName } from '../../lib/serviceAuth';

/**
 * The `Authorization` value a service of the stack would send, made from the secrets a stack started with
 * `dataDir` generated there (lib/serviceAuth.ts). Tests use it to call FAS as the orchestrator does, or SAS as
 * FAS does.
 */
export async function serviceAuthorization(
  dataDir: string,
  as: ServiceName,
  to: 'federated-auth' | 'scoped-auth',
): Promise<string> {
  const file = join(dataDir, 'secrets', to === 'scoped-auth' ? 'sas-auth.key' : 'fas-auth.key');
  return (await loadServiceCredentials(as, to, { file })).authorization();
}
