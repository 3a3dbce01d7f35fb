import { z } from 'zod';
import { dataDir, parseEnv } from '../lib/config';
import { databaseUrl } from '../store/databaseUrl';

/** The CLI finds the store exactly as the worker does: `DATABASE_URL`, else the SQLite file under DATA_DIR. */
const schema = z.object({
  DATA_DIR: dataDir,
  DATABASE_URL: databaseUrl,
});

export type AdminConfig = z.infer<typeof schema>;

export const loadAdminConfig = (env: NodeJS.ProcessEnv): AdminConfig => parseEnv(schema, env);
