import { join } from 'node:path';
import { loadServiceCredentials, requestTarget, type ServiceName } from '../../lib/serviceAuth';

/**
 * The `Authorization` value a service of the stack would send for `POST url` with `body`, made from the secrets
 * a stack started with `dataDir` generated there (lib/serviceAuth.ts): a credential covers that one request,
 * once. Tests use it to call FAS as the orchestrator does, or SAS as FAS does.
 */
export async function serviceAuthorization(
  dataDir: string,
  as: ServiceName,
  to: 'federated-auth' | 'scoped-auth',
  request: { url: string; body: string; method?: string },
): Promise<string> {
  const file = join(dataDir, 'secrets', to === 'scoped-auth' ? 'sas-auth.key' : 'fas-auth.key');
  const credentials = await loadServiceCredentials(as, to, { file });
  return credentials.authorization({
    method: request.method ?? 'POST',
    path: requestTarget(request.url),
    body: request.body,
  });
}

/**
 * `POST url` with `body` as JSON, as the stack's `as` service sends it: with a credential for that one request.
 * Scripts and tests call SAS's validate this way, with FAS's credential.
 */
export async function postAsService(
  dataDir: string,
  as: ServiceName,
  to: 'federated-auth' | 'scoped-auth',
  url: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<Response> {
  const sent = JSON.stringify(body);
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: await serviceAuthorization(dataDir, as, to, { url, body: sent }),
    },
    body: sent,
    ...(signal && { signal }),
  });
}
