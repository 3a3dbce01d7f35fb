import { randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Reads a development secret, or creates it on first start. The file is written with mode 0600 to a temporary
 * name and then linked into place, so a process starting at the same moment never reads a half-written file,
 * and every process agrees on the value.
 */
export async function loadOrCreateSecret(path: string, bytes = 32): Promise<Buffer> {
  const existing = await read(path, bytes);
  if (existing) return existing;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const secret = randomBytes(bytes);
  const temporary = join(dirname(path), `.${randomUUID()}.tmp`);
  await writeFile(temporary, secret.toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, path);
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another process won the race: use its secret.
    const theirs = await read(path, bytes);
    if (!theirs) throw new Error(`Secret file ${path} vanished while starting`);
    return theirs;
  } finally {
    await rm(temporary, { force: true });
  }
}

async function read(path: string, bytes: number): Promise<Buffer | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const secret = Buffer.from(text.trim(), 'base64url');
  if (secret.length !== bytes) {
    throw new Error(
      `Secret file ${path} does not hold a ${bytes}-byte secret; delete it to generate a new one`,
    );
  }
  return secret;
}
