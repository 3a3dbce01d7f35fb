/**
 * Prints an `Authorization` value for calling an internal service by hand, as its one legitimate caller would:
 * `scoped-auth` as FAS, `federated-auth` as the orchestrator. A credential covers one request, so name it: the
 * method, the path and the exact body you will send; it is accepted once, within 10 s. It reads the same secret
 * the service verifies with (its *_AUTH_SECRET, else the file under DATA_DIR), so it works only where that
 * secret is readable: whoever can read it can mint credentials anyway.
 *
 *   body='{"token":"..."}'
 *   curl -H "Authorization: $(node --import tsx scripts/service-credential.ts scoped-auth POST \
 *     /v1/ScopedAuthTokens/validate "$body")" -H 'Content-Type: application/json' -d "$body" ...
 */
import { loadServiceCredentials } from '../lib/serviceAuth';
import { loadFederatedAuthConfig } from '../services/federated-auth/config';
import { loadScopedAuthConfig } from '../services/scoped-auth/config';

const usage = 'Usage: service-credential.ts scoped-auth|federated-auth METHOD PATH [BODY]';

async function main([callee, method, path, body = '']: string[]) {
  if (!method || !path?.startsWith('/')) throw new Error(usage);
  const request = { method, path, body };
  if (callee === 'scoped-auth') {
    const { authSecret } = loadScopedAuthConfig();
    return (await loadServiceCredentials('federated-auth', 'scoped-auth', authSecret)).authorization(request);
  }
  if (callee === 'federated-auth') {
    const { authSecret } = loadFederatedAuthConfig();
    return (await loadServiceCredentials('orchestrator', 'federated-auth', authSecret)).authorization(
      request,
    );
  }
  throw new Error(usage);
}

main(process.argv.slice(2)).then(
  (header) => console.log(header),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
