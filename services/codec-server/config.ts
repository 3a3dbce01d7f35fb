import { z } from 'zod';
import { dataDir, logLevel, nodeEnv, parseEnv, port } from '../../lib/config';
import { codecKeysSource, codecKeysVariables } from '../../lib/secrets/secretConfig';

const schema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    CODEC_PORT: port(8888),
    DATA_DIR: dataDir,
    NODE_ENV: nodeEnv,
    /** The same keys as the API's and the workers' (lib/secrets/secretConfig.ts). */
    ...codecKeysVariables,
    /** Origins of the Temporal UI allowed to call the codec server from the browser. */
    CODEC_CORS_ORIGINS: z
      .string()
      .default('http://localhost:8233,http://127.0.0.1:8233')
      .transform((s) =>
        s
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean),
      ),
    LOG_LEVEL: logLevel,
  })
  .transform((env) => ({
    ...env,
    codecKeys: codecKeysSource(env),
  }));

export type CodecServerConfig = z.infer<typeof schema>;

export const loadCodecServerConfig = (env: NodeJS.ProcessEnv = process.env): CodecServerConfig =>
  parseEnv(schema, env);
