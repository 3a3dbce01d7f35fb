import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The successor of a refreshed token is kept so that a retry of the same refresh gets the same token back. It is
 * a bearer credential, so the store never holds it in clear: it is sealed with AES-256-GCM under a key derived
 * (HKDF-SHA256) from the parent token itself. Only a caller presenting the parent token can open it, and that is
 * exactly who may receive it; a copy of the database alone yields nothing, and no server key is involved, so a
 * key rotation does not strand a grace retry.
 */

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const INFO = 'webchat-token refresh successor v1';

function keyFor(parentToken: string, parentJti: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(parentToken, 'utf8'), parentJti, INFO, 32));
}

export function sealSuccessor(successor: string, parentToken: string, parentJti: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyFor(parentToken, parentJti), iv);
  cipher.setAAD(Buffer.from(parentJti, 'utf8'));
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, body, cipher.getAuthTag()]);
}

/** The successor, or null when `box` was not sealed for this parent token. */
export function openSuccessor(box: Uint8Array, parentToken: string, parentJti: string): string | null {
  const bytes = Buffer.from(box);
  if (bytes.length < 1 + IV_BYTES + TAG_BYTES || bytes[0] !== VERSION) return null;
  const iv = bytes.subarray(1, 1 + IV_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const body = bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(parentToken, parentJti), iv);
    decipher.setAAD(Buffer.from(parentJti, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** Who refreshed: a digest of the refreshing browser's fingerprint, or of nothing for an unbound refresh. */
export function requesterDigest(fingerprint: string | undefined): Buffer {
  return createHash('sha256')
    .update(`webchat-token refresh requester\0${fingerprint ?? ''}`, 'utf8')
    .digest();
}
