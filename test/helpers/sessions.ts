import type { ScopedAuthConfig } from '../../services/scoped-auth/config';

/** SAS's session settings for tests: an in-memory store and the service defaults. */
export const inMemorySessions: ScopedAuthConfig['sessions'] = {
  databaseUrl: undefined,
  dataDir: null,
  maxAgeSeconds: 86_400,
  reuseGraceSeconds: 30,
};
