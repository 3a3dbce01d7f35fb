import { z } from 'zod';
import { dataDir, logLevel, parseEnv } from '../lib/config';

/** The store process (`store/main.ts`): which data folder it serves, how much it logs. */
const schema = z.object({ DATA_DIR: dataDir, LOG_LEVEL: logLevel });

export type StoreConfig = z.infer<typeof schema>;

export const loadStoreConfig = (env: NodeJS.ProcessEnv = process.env): StoreConfig => parseEnv(schema, env);
