/**
 * Prints an `Authorization` value (valid 60 s) for calling an internal service by hand, as its one legitimate
 * caller would: `scoped-auth` as FAS, `federated-auth` as the orchestrator. It reads the same secret the service
 * verifies with (its *_AUTH_SECRET, else the file under DATA_DIR), so it works only where that secret is
 * readable: whoever can read it can mint credentials anyway.
 *
 *   curl -H "Authorization: $(node --import tsx scripts/service-credential.ts scoped-auth)" ...
 */
import { loadServiceCredentials } from '../lib/serviceAuth';
import { loadFederatedAuthConfig } from '../services/federated-auth/config';
import { loadScopedAuthConfig } from '../services/scoped-auth/config';

async function main(callee: string | undefined) {
  if (callee === 'scoped-auth') {
    const creds = await loadServiceCredentials(
      'federated-auth',
      'scoped-auth',
      loadScopedAuthConfig().authSecret,
    );
    return creds.authorization();
  }
  if (callee === 'federated-auth') {
    const { authSecret } = loadFederatedAuthConfig();
    return (await loadServiceCredentials('orchestrator', 'federated-auth', authSecret)).authorization();
  }
  throw new Error('Usage: service-credential.ts scoped-auth|federated-auth');
}

main(process.argv[2]).then(
  (header) => console.log(header),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
