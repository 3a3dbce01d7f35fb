import { z } from 'zod';
import { dataDir, logLevel, parseEnv, port } from '../../lib/config';
import { defaultCodecKeysFile } from '../../lib/codec/loadCodec';

const schema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    CODEC_PORT: port(8888),
    DATA_DIR: dataDir,
    CODEC_KEYS: z.string().optional(),
    CODEC_KEYS_FILE: z.string().optional(),
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
    CODEC_KEYS_FILE: env.CODEC_KEYS_FILE ?? defaultCodecKeysFile(env.DATA_DIR),
  }));

export type CodecServerConfig = z.infer<typeof schema>;

export const loadCodecServerConfig = (env: NodeJS.ProcessEnv = process.env): CodecServerConfig =>
  parseEnv(schema, env);
