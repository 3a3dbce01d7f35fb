import { z } from 'zod';
import { dataDir, isProduction, logLevel, nodeEnv, parseEnv, port } from '../../lib/config';
import { codecKeysSource, codecKeysVariables } from '../../lib/secrets/secretConfig';

const list = (s: string) =>
  s
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);

const schema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    CODEC_PORT: port(8888),
    DATA_DIR: dataDir,
    NODE_ENV: nodeEnv,
    /** The same keys as the API's and the workers' (lib/secrets/secretConfig.ts). */
    ...codecKeysVariables,
    /** Origins of the Temporal UI allowed to call the codec server from the browser. */
    CODEC_CORS_ORIGINS: z.string().default('http://localhost:8233,http://127.0.0.1:8233').transform(list),
    /** `Host` values the server answers to; unset: its own loopback names with its port. */
    CODEC_ALLOWED_HOSTS: z.string().optional(),
    /**
     * When set, every decode and encode must carry `Authorization: Bearer <token>`. Required with
     * NODE_ENV=production: what the server decrypts holds live tokens, and whoever reaches it would read them.
     */
    CODEC_AUTH_TOKEN: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z
        .string()
        .min(16, 'CODEC_AUTH_TOKEN must be at least 16 characters')
        .regex(/^[\x21-\x7e]+$/, 'CODEC_AUTH_TOKEN must be printable ASCII without spaces')
        .optional(),
    ),
    /**
     * Serve `POST /encode` too. Off by default: encrypting any payload for any caller is an oracle that lets a
     * run started by hand (the Temporal CLI) pass the workers' strict codec, skipping the API and its limits.
     * The UI only decodes.
     */
    CODEC_ALLOW_ENCODE: z.stringbool().default(false),
    LOG_LEVEL: logLevel,
  })
  .superRefine((env, ctx) => {
    if (isProduction(env) && env.CODEC_AUTH_TOKEN === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['CODEC_AUTH_TOKEN'],
        message:
          'required with NODE_ENV=production: the codec server decrypts live tokens for whoever calls it ' +
          '(16+ printable characters; the UI reaches it through a proxy that adds the header)',
      });
    }
  })
  .transform((env) => ({
    ...env,
    codecKeys: codecKeysSource(env),
    CODEC_ALLOWED_HOSTS: env.CODEC_ALLOWED_HOSTS
      ? list(env.CODEC_ALLOWED_HOSTS.toLowerCase())
      : defaultAllowedHosts(env.CODEC_PORT),
  }));

/** The names a browser or the CLI uses for a codec server on this machine: `localhost`, IPv4 and IPv6 loopback. */
export const defaultAllowedHosts = (codecPort: number) =>
  ['localhost', '127.0.0.1', '[::1]'].map((h) => `${h}:${codecPort}`);

export type CodecServerConfig = z.infer<typeof schema>;

export const loadCodecServerConfig = (env: NodeJS.ProcessEnv = process.env): CodecServerConfig =>
  parseEnv(schema, env);
