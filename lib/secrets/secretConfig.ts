import { join } from 'node:path';
import { z } from 'zod';
import { isProduction } from '../config';
import { defaultCodecKeysFile, parseCodecKeys, type CodecKeysSource } from './codecKeys';
import { secretProblem, type SecretSource } from './secret';

/**
 * The environment side of every secret: the variables each config schema reads, and the sources they give.
 * Every secret `X` is read from `X` by value (a deployment's secret store; every instance gets the same one),
 * else from the file `X_FILE`, else from its file under `DATA_DIR/secrets/`, created on first start unless
 * `NODE_ENV=production`.
 */

/** Each secret a process may need, and its single-box file under `DATA_DIR/secrets/`. */
export const secretFiles = {
  /** HS256 secret of the orchestrator's credentials for FAS: the worker and FAS. */
  FAS_AUTH_SECRET: 'fas-auth.key',
  /** HS256 secret of FAS's credentials for SAS: FAS and SAS. */
  SAS_AUTH_SECRET: 'sas-auth.key',
  /** HMAC key of the browser fingerprint: every worker. */
  FINGERPRINT_SECRET: 'fingerprint.key',
} as const;
export type SecretName = keyof typeof secretFiles;

/** Unset and empty are the same: `FOO=` in an env file means "not given". */
const optionalText = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

const secretValue = optionalText.superRefine((value, ctx) => {
  const problem = value === undefined ? undefined : secretProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

type SecretVariables<N extends SecretName> = { [K in N]: typeof secretValue } & {
  [K in N as `${K}_FILE`]: typeof optionalText;
};

/**
 * The zod fields of the named secrets, to spread into a process's schema: `X` (checked strictly at parse, so a
 * bad value stops the process with a message naming X) and `X_FILE`.
 */
export function secretVariables<N extends SecretName>(...names: N[]): SecretVariables<N> {
  return Object.fromEntries(
    names.flatMap((name) => [
      [name, secretValue],
      [`${name}_FILE`, optionalText],
    ]),
  ) as SecretVariables<N>;
}

interface ParsedEnv {
  DATA_DIR: string;
  NODE_ENV?: string | undefined;
}

/** Where the secret `name` comes from, given a parsed environment that holds its variables. */
export function secretSource<N extends SecretName>(
  env: ParsedEnv & { [K in N | `${N}_FILE`]?: string | undefined },
  name: N,
): SecretSource {
  const vars = env as Partial<Record<string, string>>;
  return {
    variable: name,
    value: vars[name],
    file: vars[`${name}_FILE`] ?? join(env.DATA_DIR, 'secrets', secretFiles[name]),
    create: !isProduction(env),
  };
}

/** The zod fields of the payload codec's keys: `CODEC_KEYS` (JSON, checked at parse) and `CODEC_KEYS_FILE`. */
export const codecKeysVariables = {
  CODEC_KEYS: optionalText.superRefine((value, ctx) => {
    if (value === undefined) return;
    try {
      parseCodecKeys(value);
    } catch (err) {
      // parseCodecKeys never quotes the value.
      ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^CODEC_KEYS:? ?/, '') });
    }
  }),
  CODEC_KEYS_FILE: optionalText,
};

export function codecKeysSource(
  env: ParsedEnv & { CODEC_KEYS?: string | undefined; CODEC_KEYS_FILE?: string | undefined },
): CodecKeysSource {
  return {
    value: env.CODEC_KEYS,
    file: env.CODEC_KEYS_FILE ?? defaultCodecKeysFile(env.DATA_DIR),
    create: !isProduction(env),
  };
}
