import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';

/**
 * DPoP proofs (RFC 9449): a JWT the browser signs with a key it cannot export, sent in the `DPoP` header of a
 * request; a token bound to that key (`cnf.jkt`, the key's RFC 7638 thumbprint) is worthless without it. The
 * checks of RFC 9449 §4.3, in its order; every refusal is a `DpopProofError` whose reason is for logs only: a
 * client learns no more than that the proof was refused.
 */

/** Asymmetric algorithms only: never `none`, never an HMAC (whose "public" key would be the secret). */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'PS256', 'RS256'] as const;

/** How old a proof may be, and how far in the future its `iat` may lie (clock skew). */
const DPOP_MAX_AGE_SECONDS = 60;
const DPOP_CLOCK_TOLERANCE_SECONDS = 5;

/** JWK members only a private key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Where proof ids are remembered: each proof is accepted once (lib/replayCache.ts, shared by the fleet). */
export interface ProofReplayCache {
  firstUse(id: string, ttlSeconds: number): Promise<boolean>;
}

export interface ProofExpectations {
  /** The request's method, e.g. `POST`. */
  method: string;
  /** The URL the client called (behind a proxy: the public one), without query or fragment. */
  url: string;
  /** The access token presented with the proof: its SHA-256 must be the proof's `ath`. */
  accessToken?: string;
  replay: ProofReplayCache;
  /** The clock; tests pass their own. */
  now?: () => Date;
}

export interface VerifiedProof {
  /** The proof key's RFC 7638 SHA-256 thumbprint: what a bound token's `cnf.jkt` holds. */
  jkt: string;
}

export class DpopProofError extends Error {
  override readonly name = 'DpopProofError';
  constructor(readonly reason: string) {
    super(`DPoP proof refused: ${reason}`);
  }
}

/** Checks one `DPoP` header value against the request it came with. Throws `DpopProofError`. */
export async function verifyDpopProof(proof: string, expect: ProofExpectations): Promise<VerifiedProof> {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(proof) || proof.length > 8192) {
    throw new DpopProofError('malformed');
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw new DpopProofError('malformed');
  }
  if (header.typ !== 'dpop+jwt') throw new DpopProofError('typ');
  if (!DPOP_ALGORITHMS.includes(header.alg as (typeof DPOP_ALGORITHMS)[number]))
    throw new DpopProofError('alg');
  const jwk = header.jwk;
  if (!jwk || typeof jwk !== 'object') throw new DpopProofError('no_jwk');
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) throw new DpopProofError('private_jwk');

  const now = expect.now?.() ?? new Date();
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: [...DPOP_ALGORITHMS],
      requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      maxTokenAge: DPOP_MAX_AGE_SECONDS,
      clockTolerance: DPOP_CLOCK_TOLERANCE_SECONDS,
      currentDate: now,
    }));
  } catch (err) {
    throw new DpopProofError((err as { code?: string }).code ?? 'signature');
  }
  const { jti, htm, htu, iat, ath } = payload;
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256) throw new DpopProofError('jti');
  if (htm !== expect.method) throw new DpopProofError('htm');
  if (typeof htu !== 'string' || normaliseHtu(htu) !== normaliseHtu(expect.url))
    throw new DpopProofError('htu');
  // jose checked the age from `iat`; a proof dated ahead of the tolerance is refused as well.
  if (typeof iat !== 'number' || iat > now.getTime() / 1000 + DPOP_CLOCK_TOLERANCE_SECONDS) {
    throw new DpopProofError('iat');
  }
  if (expect.accessToken !== undefined) {
    if (typeof ath !== 'string' || ath !== accessTokenHash(expect.accessToken))
      throw new DpopProofError('ath');
  }
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  // Last, so only a proof that passed every other check spends its id. Scoped by key: nobody can spend another
  // key's ids. Remembered as long as the proof could be accepted.
  const fresh = await expect.replay.firstUse(
    `dpop:${jkt}:${jti}`,
    DPOP_MAX_AGE_SECONDS + 2 * DPOP_CLOCK_TOLERANCE_SECONDS,
  );
  if (!fresh) throw new DpopProofError('replayed');
  return { jkt };
}

/** `ath`: base64url SHA-256 of the access token (RFC 9449 §4.2). */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

/**
 * The URI a proof's `htu` names, compared as RFC 9449 §4.3 asks (RFC 3986 §6.2.2-6.2.3): scheme and host in
 * lower case, default port dropped, no query or fragment. Anything that is not an http(s) URL matches nothing.
 */
function normaliseHtu(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  return `${url.protocol}//${url.host}${url.pathname}`;
}
