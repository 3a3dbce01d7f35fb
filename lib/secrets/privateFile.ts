import { randomUUID } from 'node:crypto';
import { chmod, link, mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Files holding keys and secrets: mode 0600 in a 0700 folder, never seen half-written, and never used when
 * others can read them. Each write goes to a private temporary file first, then into place in one system call.
 */

/**
 * The content of a key or secret file; undefined when there is none. Like ssh with a private key, a file that
 * its group or others may access is refused rather than silently trusted: someone else may already hold it.
 * The mode is checked on the open file, so the file checked is the file read.
 */
export async function readPrivateFile(path: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { mode } = await handle.stat();
    if ((mode & 0o077) !== 0) {
      throw new Error(
        `${path} is accessible by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
      );
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Writes `content` at `path` unless a file is already there, with link(2), which fails if another process got
 * there first. True when this call created the file; false when it found one (read that one instead).
 */
export async function createPrivateFileOnce(path: string, content: string): Promise<boolean> {
  return withTemporary(path, content, async (tmp) => {
    try {
      await link(tmp, path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  });
}

/** Replaces `path` with `content` in one rename(2): readers see the old file or the new one. */
export function replacePrivateFile(path: string, content: string): Promise<void> {
  return withTemporary(path, content, (tmp) => rename(tmp, path));
}

async function withTemporary<T>(
  path: string,
  content: string,
  place: (tmp: string) => Promise<T>,
): Promise<T> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, content, { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600); // in case the umask took bits away we need (it cannot add any)
    return await place(tmp);
  } finally {
    await rm(tmp, { force: true });
  }
}
