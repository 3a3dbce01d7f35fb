import { randomBytes } from 'node:crypto';
import { createPrivateFileOnce, readPrivateFile } from './privateFile';

/** The shortest secret accepted anywhere: 256 bits, the HMAC-SHA256 block of strength. */
export const MIN_SECRET_BYTES = 32;

/**
 * Why `text` is not a secret, or undefined when it is one: canonical base64url (A-Z a-z 0-9 - _, no padding,
 * no stray bits, as `Buffer#toString('base64url')` writes it) of at least 32 bytes. Strict, so that a value
 * pasted in the wrong alphabet or cut short fails at start instead of silently decoding to other bytes. The
 * answer never quotes the value.
 */
export function secretProblem(text: string, minBytes = MIN_SECRET_BYTES): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) {
    return 'is not base64url: only A-Z, a-z, 0-9, "-" and "_" are allowed, without "=" padding';
  }
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text)
    return 'is not canonical base64url (a truncated or mangled value)';
  if (bytes.length < minBytes) {
    return `decodes to ${bytes.length} bytes; a secret must be at least ${minBytes} bytes`;
  }
  return undefined;
}

/** Decodes a secret, or throws an error that names `what` (a variable or a file) and says what is wrong. */
export function decodeSecret(text: string, what: string): Buffer {
  const problem = secretProblem(text);
  if (problem !== undefined) throw new Error(`${what} ${problem}`);
  return Buffer.from(text, 'base64url');
}

/** Where one secret comes from: the value in the environment, else a file. */
export interface SecretSource {
  /** The variable that holds it by value (`FAS_AUTH_SECRET`), named in every error. */
  variable?: string;
  /** base64url of at least 32 random bytes; wins over the file. */
  value?: string | undefined;
  /** Read (mode 0600 or stricter) when there is no value. */
  file: string;
  /**
   * Create the file with a fresh secret when it is missing: the single-box default. False in production,
   * where a secret every instance must share can only come from outside.
   */
  create?: boolean;
}

/**
 * A process's secret: the value when one is set, else the file's, else (outside production) a new one written
 * to the file atomically, so that every process of one data folder agrees on it even when they start together.
 */
export async function loadSecret(source: SecretSource): Promise<Buffer> {
  const variable = source.variable ?? 'the secret';
  if (source.value !== undefined) return decodeSecret(source.value, variable);
  const existing = await readSecretFile(source.file, variable);
  if (existing) return existing;
  if (source.create === false) {
    throw new Error(
      `${variable} is not set and ${source.file} does not exist. With NODE_ENV=production no secret is ` +
        `generated: give every instance the same ${variable} (base64url of at least ${MIN_SECRET_BYTES} ` +
        `random bytes), or a file holding it in ${variable}_FILE.`,
    );
  }
  const secret = randomBytes(MIN_SECRET_BYTES);
  if (await createPrivateFileOnce(source.file, secret.toString('base64url') + '\n')) return secret;
  // Another process won the race: use its secret.
  const theirs = await readSecretFile(source.file, variable);
  if (!theirs) throw new Error(`Secret file ${source.file} vanished while starting`);
  return theirs;
}

async function readSecretFile(path: string, variable: string): Promise<Buffer | undefined> {
  const text = await readPrivateFile(path);
  // A trailing newline (echo, editors, secret mounts) is not part of the secret.
  return text === undefined ? undefined : decodeSecret(text.trim(), `Secret file ${path} (${variable})`);
}
