import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, errors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { accountSidSchema } from '../../domain/accountRules';
import {
  fingerprintSensitivities,
  grantsSchema,
  jktSchema,
  type FingerprintSensitivity,
  type IssuedToken,
  type SasValidateInternalResponse,
  type SasValidateResponse,
  type WebchatGrants,
} from '../../domain/contracts';
import { DpopProofError } from '../../lib/dpop/dpopProof';
import type { Logger } from '../../lib/logger';
import { TOKEN_CLOCK_TOLERANCE_SECONDS } from '../../domain/tokenClock';
import type { KeyRing } from './keys';

/** Explicit JWT type (RFC 8725 §3.11), so no other kind of JWT signed with the same key passes as ours. */
const TOKEN_TYPE = 'webchat+jwt';

export interface TokenPolicy {
  issuer: string;
  audience: string;
  /** The clock; tests pass a fixed one. */
  now?: () => Date;
}

export interface MintRequest {
  accountSid: string;
  grants: WebchatGrants;
  /** Seconds. */
  ttl: number;
  /** When set, the token is bound: it validates only with the same fingerprint. */
  fingerprint?: string | undefined;
  fingerprintLevel?: FingerprintSensitivity | undefined;
  /** Kept from the token being refreshed; otherwise a fresh random UUID. */
  identity?: string | undefined;
  /** Kept from the token being refreshed; otherwise a new session (random id) starts with this token. */
  session?: { id: string; startedAt: number } | undefined;
  /** Seconds: the token never outlives its session's start plus this. */
  sessionMaxAge?: number | undefined;
  /**
   * When set, the token is bound to that key (RFC 9449 `cnf.jkt`): it validates and refreshes only with a DPoP
   * proof signed by it.
   */
  jkt?: string | undefined;
}

/**
 * Mints a nested JWT: signed with the current EdDSA key (so holders of the encryption key cannot mint), then
 * encrypted with the current AES-256-GCM key (so the widget cannot read the claims, fingerprint included).
 */
export async function mintToken(
  keys: KeyRing,
  request: MintRequest,
  policy: TokenPolicy,
): Promise<IssuedToken> {
  if ((request.fingerprint === undefined) !== (request.fingerprintLevel === undefined)) {
    throw new TypeError('fingerprint and fingerprintLevel go together');
  }
  const { signing, encryption } = keys.current;
  const identity = request.identity ?? randomUUID();
  const iat = Math.floor((policy.now?.() ?? new Date()).getTime() / 1000);
  const sid = request.session?.id ?? randomUUID();
  const sst = request.session?.startedAt ?? iat;
  const exp = Math.min(iat + request.ttl, sst + (request.sessionMaxAge ?? Infinity));
  const binding =
    request.fingerprint === undefined ? {} : { fp: request.fingerprint, fpl: request.fingerprintLevel };
  const keyBinding = request.jkt === undefined ? {} : { cnf: { jkt: request.jkt } };
  const jws = await new SignJWT({ identity, grants: request.grants, sid, sst, ...binding, ...keyBinding })
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: TOKEN_TYPE })
    .setIssuer(policy.issuer)
    .setAudience(policy.audience)
    .setSubject(request.accountSid)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(signing.privateKey);
  const token = await new CompactEncrypt(new TextEncoder().encode(jws))
    .setProtectedHeader({ alg: 'dir', enc: encryption.enc, kid: encryption.kid, cty: 'JWT' })
    .encrypt(encryption.key);
  return { token, identity, expiration: new Date(exp * 1000).toISOString() };
}

/** The claims a verified token must carry beyond what `jwtVerify` already checked. */
const claimsSchema = z
  .object({
    sub: accountSidSchema,
    jti: z.uuid(),
    iat: z.number().int(),
    exp: z.number().int(),
    sid: z.uuid(),
    sst: z.number().int(),
    identity: z.uuid(),
    grants: grantsSchema,
    fp: z.string().min(1).optional(),
    fpl: z.enum(fingerprintSensitivities).optional(),
    cnf: z.object({ jkt: jktSchema }).optional(),
  })
  .refine((c) => (c.fp === undefined) === (c.fpl === undefined));

/** A verified token's claims, with its session made explicit. */
export type TokenClaims = Omit<z.infer<typeof claimsSchema>, 'sid' | 'sst'> & {
  sessionId: string;
  /** Seconds since the epoch. */
  sessionStart: number;
};

/** Why a token was refused; for logs only, clients see just the contract's message. */
class Rejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** What a caller presents with a token: the browser's fingerprint, a DPoP proof and the request it came with. */
export interface Presented {
  fingerprint?: string | undefined;
  dpop?: DpopPresentation | undefined;
}

export interface DpopPresentation {
  proof: string;
  method: string;
  url: string;
}

/**
 * The public validate answer (`POST /v1/ScopedAuthTokens/validate`): `validateTokenInternal`'s, without whether
 * and how the token is bound.
 */
export async function validateToken(
  keys: KeyRing,
  token: string,
  presented: Presented,
  policy: ValidatePolicy,
): Promise<SasValidateResponse> {
  const result = await validateTokenInternal(keys, token, presented, policy);
  if (!result.authorized) return result;
  // The public answer keeps the documented validate shape (docs/security.md): whether and how a token is bound stays inside.
  const { fingerprintLevel: _level, ...answer } = result;
  return answer;
}

export interface ValidatePolicy extends TokenPolicy {
  log?: Logger;
  /** Whether a revocation covers the token (SAS reads the shared session store); none when absent. */
  isRevoked?: (claims: TokenClaims) => Promise<boolean>;
  /**
   * The thumbprint of the key a DPoP proof was signed with, checked against the request it came with and the
   * token (`ath`); throws `DpopProofError`. Without it a key-bound token never validates.
   */
  verifyProof?: (dpop: DpopPresentation, token: string) => Promise<string>;
}

/**
 * The internal validate answer (`POST /v1/ScopedAuthTokens/validate/internal`): `openToken`, then what the token
 * is bound to (a fingerprint-bound token needs the same fingerprint, a key-bound one a DPoP proof from its key for
 * the request it came with; an unbound token ignores both), then its revocation; with the binding level (null
 * when unbound). Never throws for a bad token: a refusal is an answer.
 */
export async function validateTokenInternal(
  keys: KeyRing,
  token: string,
  { fingerprint, dpop }: Presented,
  policy: ValidatePolicy,
): Promise<SasValidateInternalResponse> {
  let claims: TokenClaims;
  try {
    claims = await openToken(keys, token, policy);
  } catch (err) {
    policy.log?.info({ reason: reasonOf(err) }, 'token rejected');
    return { authorized: false, message: 'token_validation_failed' };
  }
  if (claims.fp !== undefined && !sameFingerprint(claims.fp, fingerprint)) {
    const reason = fingerprint === undefined ? 'fingerprint_missing' : 'fingerprint_mismatch';
    policy.log?.info({ reason, fingerprintLevel: claims.fpl }, 'token rejected');
    return { authorized: false, message: 'fingerprint_validation_failed' };
  }
  if (claims.cnf !== undefined) {
    const reason = await proofRefusal(claims.cnf.jkt, token, dpop, policy.verifyProof);
    if (reason !== undefined) {
      policy.log?.info({ reason }, 'token rejected');
      return { authorized: false, message: 'invalid_dpop_proof' };
    }
  }
  // Last, so that forged and foreign tokens cost no database read.
  if (await policy.isRevoked?.(claims)) {
    policy.log?.info({ reason: 'revoked', accountSid: claims.sub }, 'token rejected');
    return { authorized: false, message: 'token_validation_failed' };
  }
  return {
    authorized: true,
    auth_account: { account_sid: claims.sub },
    identity: claims.identity,
    grants: claims.grants,
    expiration: new Date(claims.exp * 1000).toISOString(),
    fingerprintLevel: claims.fpl ?? null,
  };
}

/** Why the DPoP proof presented with a key-bound token does not prove its key (for logs), or undefined. */
async function proofRefusal(
  jkt: string,
  token: string,
  dpop: DpopPresentation | undefined,
  verifyProof: ValidatePolicy['verifyProof'],
): Promise<string | undefined> {
  if (dpop === undefined || verifyProof === undefined) return 'dpop_missing';
  try {
    return (await verifyProof(dpop, token)) === jkt ? undefined : 'dpop_other_key';
  } catch (err) {
    return err instanceof DpopProofError ? `dpop_${err.reason}` : 'dpop_malformed';
  }
}

/**
 * Opens a token from `mintToken`: decrypts it, verifies its signature and claims, each layer with pinned
 * algorithms and keys picked from the ring by `kid` (RFC 8725 §3.1, §3.3), and parses the claims. Throws
 * (`Rejected`, or a jose error); checks no binding and no revocation.
 */
export async function openToken(keys: KeyRing, token: string, policy: TokenPolicy): Promise<TokenClaims> {
  const { plaintext, protectedHeader } = await compactDecrypt(
    token,
    ({ kid }) => {
      const key = kid === undefined ? undefined : keys.encryptionKey(kid);
      if (key === undefined) throw new Rejected('unknown_encryption_kid');
      return key.key;
    },
    { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] },
  );
  if (protectedHeader.cty !== 'JWT') throw new Rejected('not_nested_jwt');
  const { payload } = await jwtVerify(
    plaintext,
    ({ kid }) => {
      const key = kid === undefined ? undefined : keys.signingKey(kid);
      if (key === undefined) throw new Rejected('unknown_signing_kid');
      return key.publicKey;
    },
    {
      algorithms: ['EdDSA'],
      issuer: policy.issuer,
      audience: policy.audience,
      typ: TOKEN_TYPE,
      requiredClaims: ['sub', 'jti', 'iat', 'exp'],
      clockTolerance: TOKEN_CLOCK_TOLERANCE_SECONDS,
      ...(policy.now ? { currentDate: policy.now() } : {}),
    },
  );
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) throw new Rejected('malformed_claims');
  const { sid, sst, ...rest } = claims.data;
  return { ...rest, sessionId: sid, sessionStart: sst };
}

/** Hashing both sides gives equal-length buffers, so the comparison leaks neither content nor length. */
export function sameFingerprint(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(expected), digest(given));
}

export function reasonOf(err: unknown): string {
  if (err instanceof Rejected) return err.reason;
  if (err instanceof errors.JOSEError) return err.code;
  return 'malformed_token';
}
