import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Reads a development secret, or creates it on first start. The file is written with mode 0600 and never
 * rewritten, so every process that reads it agrees on the value.
 */
export async function loadOrCreateSecret(path: string, bytes = 32): Promise<Buffer> {
  try {
    return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const secret = randomBytes(bytes);
  try {
    // 'wx' fails if another process created it first; then read theirs.
    await writeFile(path, secret.toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url');
  }
}
