import { requestTarget, type ServiceCredentials } from '../../lib/serviceAuth';

/**
 * `POST url` with `body` (JSON-encoded unless already a string) as a service would send it: with a credential
 * made for exactly this request (lib/serviceAuth.ts). `headers` go on top, so a test can replace any of them.
 */
export async function postAsService(
  credentials: ServiceCredentials | Promise<ServiceCredentials>,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const authorization = await (
    await credentials
  ).authorization({ method: 'POST', path: requestTarget(url), body: text });
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization, ...headers },
    body: text,
  });
}
