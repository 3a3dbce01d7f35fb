import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createPrivateFileOnce } from './privateFile';

/**
 * Reads a development secret, or creates it on first start (mode 0600), so that every process of one data
 * folder agrees on the value, even when they start at the same moment.
 */
export async function loadOrCreateSecret(path: string, bytes = 32): Promise<Buffer> {
  const existing = await read(path, bytes);
  if (existing) return existing;
  const secret = randomBytes(bytes);
  if (await createPrivateFileOnce(path, secret.toString('base64url') + '\n')) return secret;
  // Another process won the race: use its secret.
  const theirs = await read(path, bytes);
  if (!theirs) throw new Error(`Secret file ${path} vanished while starting`);
  return theirs;
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
