import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadAdminConfig } from '../../admin/config';
import { loadApiConfig } from '../../api/config';
import { loadEdgeConfig } from '../../edge/config';
import { loadCodecServerConfig } from '../../services/codec-server/config';
import { loadFederatedAuthConfig } from '../../services/federated-auth/config';
import { loadScopedAuthConfig } from '../../services/scoped-auth/config';
import { loadWebConfig } from '../../web/config';
import { loadWorkerConfig } from '../../worker/config';

/** Every variable name `.env.example` mentions, set or commented out. */
function documentedVariables(): Set<string> {
  const text = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8');
  return new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
}

/**
 * The variables a config loader reads, observed rather than listed: the loader parses an environment that
 * records every name it is asked for (zod reads each key of its schema, defaults included).
 */
function variablesRead(load: (env: NodeJS.ProcessEnv) => unknown): Set<string> {
  const read = new Set<string>();
  const env = new Proxy(
    {},
    {
      get(_target, key) {
        if (typeof key === 'string' && /^[A-Z][A-Z0-9_]*$/.test(key)) read.add(key);
        return undefined;
      },
      has(_target, key) {
        if (typeof key === 'string' && /^[A-Z][A-Z0-9_]*$/.test(key)) read.add(key);
        return false;
      },
    },
  );
  try {
    load(env);
  } catch {
    // A loader may refuse an empty environment (a required variable): what it read up to then still counts.
  }
  return read;
}

const loaders: Record<string, (env: NodeJS.ProcessEnv) => unknown> = {
  api: loadApiConfig,
  worker: loadWorkerConfig,
  edge: loadEdgeConfig,
  'federated-auth': loadFederatedAuthConfig,
  'scoped-auth': loadScopedAuthConfig,
  'codec-server': loadCodecServerConfig,
  web: loadWebConfig,
  admin: loadAdminConfig,
};

describe('.env.example', () => {
  const documented = documentedVariables();
  for (const [name, load] of Object.entries(loaders)) {
    test(`names every variable the ${name} config reads`, () => {
      const read = variablesRead(load);
      assert.ok(read.size > 0, `the ${name} loader read no variable: the probe is broken`);
      const missing = [...read].filter((v) => !documented.has(v)).sort();
      assert.deepEqual(missing, [], `not in .env.example: ${missing.join(', ')}`);
    });
  }
});
