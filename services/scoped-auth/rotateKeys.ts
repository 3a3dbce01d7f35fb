import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tokenTtlSeconds } from '../../domain/accountRules';
import {
  loadOrCreateKeys,
  newKeyRingFile,
  readKeyRingFile,
  writeKeyRingFile,
  type KeyRingFile,
} from './keys';

/** The longest a token lives (domain/accountRules.ts): previous keys retired sooner may kill live tokens. */
const LONGEST_TOKEN_TTL_MS = tokenTtlSeconds.max * 1000;

export interface RingSummary {
  /** Current kids first. */
  signingKids: string[];
  encryptionKids: string[];
  rotatedAt: string | undefined;
}

/**
 * `npm run rotate-keys`: on a folder without a ring (a new deployment, whose SAS instances only read it) creates
 * one; on a folder with one, rotates it.
 */
export async function createOrRotateKeys(
  dir: string,
  now = new Date(),
): Promise<RingSummary & { created: boolean }> {
  if ((await readKeyRingFile(dir)) === undefined) {
    await loadOrCreateKeys(dir);
    const ring = await mustRead(dir);
    // Two first runs at once agree on one ring (loadOrCreateKeys publishes atomically); both say "created".
    return { ...summary(ring), created: true };
  }
  return { ...(await rotateKeys(dir, now)), created: false };
}

/**
 * Makes a new current signing key pair and encryption key; the old current keys become previous keys, which
 * still validate the tokens they minted. Running SAS processes pick the new ring up on their next reload.
 */
export async function rotateKeys(dir: string, now = new Date()): Promise<RingSummary> {
  await loadOrCreateKeys(dir); // a first rotation on an empty folder still leaves a previous ring to demote
  return withLock(dir, async () => {
    const ring = await mustRead(dir);
    const fresh = await newKeyRingFile(now);
    const next: KeyRingFile = {
      version: 1,
      rotatedAt: fresh.rotatedAt,
      signing: [...fresh.signing, ...ring.signing],
      encryption: [...fresh.encryption, ...ring.encryption],
    };
    await writeKeyRingFile(dir, next);
    return summary(next);
  });
}

/**
 * Drops every previous key: tokens they minted stop validating. `retiredTooSoon` says whether tokens from
 * before the last rotation may still have been live (under the longest TTL since it).
 */
export async function retireKeys(
  dir: string,
  now = new Date(),
): Promise<RingSummary & { retired: number; retiredTooSoon: boolean }> {
  return withLock(dir, async () => {
    const ring = await mustRead(dir);
    const next: KeyRingFile = {
      version: 1,
      ...(ring.rotatedAt ? { rotatedAt: ring.rotatedAt } : {}),
      signing: ring.signing.slice(0, 1),
      encryption: ring.encryption.slice(0, 1),
    };
    const retired = ring.signing.length - 1 + (ring.encryption.length - 1);
    if (retired > 0) await writeKeyRingFile(dir, next);
    const since = ring.rotatedAt ? now.getTime() - Date.parse(ring.rotatedAt) : Infinity;
    return { ...summary(next), retired, retiredTooSoon: retired > 0 && since < LONGEST_TOKEN_TTL_MS };
  });
}

async function mustRead(dir: string): Promise<KeyRingFile> {
  const ring = await readKeyRingFile(dir);
  if (!ring) throw new Error(`No key ring in ${dir}`);
  return ring;
}

const summary = (ring: KeyRingFile): RingSummary => ({
  signingKids: ring.signing.map((k) => k.kid),
  encryptionKids: ring.encryption.map((k) => k.kid),
  rotatedAt: ring.rotatedAt,
});

/**
 * One rotation at a time: two concurrent read-modify-writes of the ring would lose one of them. The lock is a
 * file created exclusively; a crash leaves it behind, and the message says what to do.
 */
async function withLock<T>(dir: string, run: () => Promise<T>): Promise<T> {
  const lock = join(dir, 'keyring.lock');
  try {
    await writeFile(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new Error(
      `Another rotation holds ${lock}. If none is running (a crash left it behind), delete that file and retry.`,
    );
  }
  try {
    return await run();
  } finally {
    await rm(lock, { force: true });
  }
}
