import { stat } from 'node:fs/promises';
import type { Logger } from '../../lib/logger';
import { importKeyRing, keyRingPath, loadKeys, readKeyRingFile, type KeyRing } from './keys';

export interface ReloadingKeyRing {
  /** Always answers from the latest ring that loaded completely. */
  readonly keys: KeyRing;
  /** Re-reads the ring now if the file changed (SIGHUP calls this); true when a new ring was taken. */
  reload(): Promise<boolean>;
  /** Stops the periodic check. */
  close(): void;
}

/**
 * The key ring of a running SAS, kept in step with `keyring.json`. The file's identity (inode, size, mtime) is
 * checked every `intervalMs` and on `reload()`; only a ring that parses and imports completely replaces the old
 * one, so a bad edit is logged and SAS keeps minting with the keys it had. Polling (a stat(2) every few seconds)
 * rather than fs.watch: it works the same on every file system and container volume, and needs no signal to
 * reach every replica.
 */
export async function loadReloadingKeyRing(
  dir: string,
  { intervalMs, log, create = true }: { intervalMs: number; log: Logger; create?: boolean },
): Promise<ReloadingKeyRing> {
  const path = keyRingPath(dir);
  let ring = await loadKeys(dir, { create });
  let version = await fileVersion(path);
  let inFlight: Promise<boolean> | undefined;

  const check = async (): Promise<boolean> => {
    const seen = await fileVersion(path);
    if (seen === version) return false;
    const file = await readKeyRingFile(dir);
    if (file === undefined) throw new Error(`Key ring ${path} is gone`);
    ring = await importKeyRing(file, path);
    version = seen;
    log.info(
      {
        signingKids: ring.jwks.keys.map((k) => k.kid),
        currentEncryptionKid: ring.current.encryption.kid,
      },
      'key ring reloaded',
    );
    return true;
  };

  const reload = () => {
    // Overlapping checks (timer and SIGHUP together) share one read.
    inFlight ??= check()
      .catch((err: unknown) => {
        log.error({ reason: err instanceof Error ? err.message : 'unknown' }, 'key ring reload failed');
        return false;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  const timer = intervalMs > 0 ? setInterval(() => void reload(), intervalMs) : undefined;
  timer?.unref();

  const keys: KeyRing = {
    get current() {
      return ring.current;
    },
    signingKey: (kid) => ring.signingKey(kid),
    encryptionKey: (kid) => ring.encryptionKey(kid),
    get jwks() {
      return ring.jwks;
    },
  };
  return { keys, reload, close: () => clearInterval(timer) };
}

async function fileVersion(path: string): Promise<string> {
  const { ino, size, mtimeMs } = await stat(path);
  return `${ino}:${size}:${mtimeMs}`;
}
