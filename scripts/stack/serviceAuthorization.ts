import { join } from 'node:path';
import {
  loadServiceCredentials,
  requestTarget,
  type ServiceCredentials,
  type ServiceName,
} from '../../lib/serviceAuth';

/**
 * The credentials a service of the stack would use towards `to`, from the secrets a stack started with `dataDir`
 * generated there (lib/serviceAuth.ts). Tests and scripts use them to call FAS as the orchestrator does, or SAS as
 * FAS does.
 */
export function stackCredentials(
  dataDir: string,
  as: ServiceName,
  to: 'federated-auth' | 'scoped-auth',
): Promise<ServiceCredentials> {
  const file = join(dataDir, 'secrets', to === 'scoped-auth' ? 'sas-auth.key' : 'fas-auth.key');
  return loadServiceCredentials(as, to, { file });
}

/** The `Authorization` value such a service sends for `POST url` with `body`: a credential for that request, once. */
export async function serviceAuthorization(
  dataDir: string,
  as: ServiceName,
  to: 'federated-auth' | 'scoped-auth',
  request: { url: string; body: string; method?: string },
): Promise<string> {
  const credentials = await stackCredentials(dataDir, as, to);
  return credentials.authorization({
    method: request.method ?? 'POST',
    path: requestTarget(request.url),
    body: request.body,
  });
}

/**
 * `POST url` with `body` (JSON-encoded unless already a string) as a service sends it: with a credential made for
 * exactly this request. `headers` go on top, so a test can replace any of them.
 */
export async function postAsService(
  credentials: ServiceCredentials | Promise<ServiceCredentials>,
  url: string,
  body: unknown,
  { headers = {}, signal }: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const authorization = await (
    await credentials
  ).authorization({ method: 'POST', path: requestTarget(url), body: text });
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization, ...headers },
    body: text,
    ...(signal && { signal }),
  });
}
