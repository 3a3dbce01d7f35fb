import type {
  FingerprintSensitivity,
  IssuedToken,
  RefreshRefusalCode,
  WebchatGrants,
} from '../../domain/contracts';
import type { Logger } from '../../lib/logger';
import type { ClaimResult, SessionStore } from '../../store/sessionStore';
import type { KeyRing } from './keys';
import { openSuccessor, requesterDigest, sealSuccessor } from './successorBox';
import {
  mintToken,
  openToken,
  reasonOf,
  sameFingerprint,
  type TokenClaims,
  type TokenPolicy,
} from './tokens';

export interface RefreshRequest {
  accountSid: string;
  token: string;
  /** The account's current grants and ttl: the successor gets these. */
  grants: WebchatGrants;
  ttl: number;
  /** The refreshing browser's fingerprint and its level, when the account's webchat-security is on. */
  fingerprint?: string | undefined;
  fingerprintLevel?: FingerprintSensitivity | undefined;
  /** The account's session maximum age, when it overrides the service's. */
  sessionMaxAge?: number | undefined;
  /** The thumbprint of the key whose valid DPoP proof came with the request (the API checked it, `ath` too). */
  proofJkt?: string | undefined;
  /** Bind an unbound token's successor to `proofJkt` (the account's key binding is on). */
  bindKey?: boolean | undefined;
}

export type RefreshOutcome =
  ({ outcome: 'refreshed' } & IssuedToken) | { outcome: 'refused'; code: RefreshRefusalCode };

export interface SessionPolicy {
  /** `SESSION_MAX_AGE_S`: how long after its first token a session may still refresh, unless the account says. */
  maxAgeSeconds: number;
  /** `REFRESH_REUSE_GRACE_S`: how long a repeat of the same refresh from the same browser gets the same answer. */
  reuseGraceSeconds: number;
}

export interface RefreshDeps {
  keys: KeyRing;
  sessions: SessionStore;
  policy: TokenPolicy & SessionPolicy;
  log: Logger;
  /** Told each time a refresh revokes a session, with why (`sas_sessions_revoked_total`). */
  sessionRevoked?: (reason: SessionRevocationReason) => void;
}

export type SessionRevocationReason = 'refresh_reused' | 'fingerprint_mismatch';

/**
 * Refreshes of one session presented with a fingerprint its token is not bound to before the session is revoked:
 * at the low and medium levels every signal is one the client sends, so a thief with a bound token could try
 * header combinations until one matches. A visitor whose browser changed (an update, a new language) gets one
 * refusal and a new session from the widget; a guesser gets this many tries, counted in the store every SAS
 * instance shares.
 */
const MAX_FINGERPRINT_MISMATCHES = 5;

/**
 * How long a refresh claim is kept past its token's `exp`, and a session's mismatch count past the session's end:
 * a minute, well past the verifiers' clock tolerance (domain/tokenClock.ts), so a SAS whose clock runs behind
 * still finds them.
 */
const KEEP_MARGIN_SECONDS = 60;

/** A refusal, as `rotateToken` answers it. */
type Refused = { outcome: 'refused'; code: RefreshRefusalCode };

/** One rotation: what every step reads. */
interface Rotation {
  deps: RefreshDeps;
  request: RefreshRequest;
  /** Read once: every check, the successor's `iat` and the records agree on the moment. */
  now: Date;
  /** The session's maximum age: the account's, else the service's. */
  maxAge: number;
  /** Logs why (never a token, fingerprint or signal) and answers `code`. */
  refuse: (code: RefreshRefusalCode, reason: string, extra?: Record<string, unknown>) => Refused;
}

/**
 * A refresh with rotation and reuse detection (RFC 9700 §4.14.2). The parent must open, belong to the account,
 * match the browser and the key it is bound to, not be revoked, and belong to a session younger than its maximum
 * age. Then the successor is minted and its refresh recorded under the parent's `jti`: the first record wins. A
 * repeat from the same browser within the grace window gets the recorded successor (a retry, or a second tab);
 * any other repeat means two parties hold the token, so the whole session is revoked and both are refused.
 *
 * Concurrent refreshes of one token all mint a candidate, but only the one whose record lands is ever sent:
 * the others are dropped here and answered with the winner's successor (or refused), so one token has at most
 * one successor in anyone's hands.
 */
export async function rotateToken(deps: RefreshDeps, request: RefreshRequest): Promise<RefreshOutcome> {
  const rotation: Rotation = {
    deps,
    request,
    now: deps.policy.now?.() ?? new Date(),
    maxAge: request.sessionMaxAge ?? deps.policy.maxAgeSeconds,
    refuse: (code, reason, extra = {}) => {
      deps.log.info({ accountSid: request.accountSid, code, reason, ...extra }, 'token refresh refused');
      return { outcome: 'refused', code };
    },
  };

  const opened = await checkParent(rotation);
  if (opened.outcome === 'refused') return opened;
  const { parent } = opened;
  // In this order, each only when the one before passed: the store is read only for a parent that opened.
  const refused =
    (await checkFingerprint(rotation, parent)) ??
    checkKey(rotation, parent) ??
    (await checkSession(rotation, parent));
  if (refused) return refused;

  const successor = await mintSuccessor(rotation, parent);
  const requester = requesterDigest(request.fingerprint);
  const claim = await claimSuccessor(rotation, parent, successor, requester);
  if (claim.won) return { outcome: 'refreshed', ...successor };
  return answerRepeat(rotation, parent, claim.existing, requester);
}

/** The parent token, opened (decrypted, signature and claims verified) and of the request's account. */
async function checkParent({
  deps,
  request,
  now,
  refuse,
}: Rotation): Promise<{ outcome: 'opened'; parent: TokenClaims } | Refused> {
  let parent: TokenClaims;
  try {
    parent = await openToken(deps.keys, request.token, { ...deps.policy, now: () => now });
  } catch (err) {
    return refuse('invalid_token', reasonOf(err));
  }
  if (parent.sub !== request.accountSid) return refuse('invalid_token', 'other_account');
  return { outcome: 'opened', parent };
}

/**
 * A fingerprint-bound parent refreshes only with its fingerprint, at its level. Each mismatch is counted for the
 * session, in the store every SAS shares; the `MAX_FINGERPRINT_MISMATCHES`th revokes the session.
 */
async function checkFingerprint(
  { deps, request, now, maxAge, refuse }: Rotation,
  parent: TokenClaims,
): Promise<Refused | undefined> {
  if (parent.fp === undefined) return undefined;
  if (request.fingerprint === undefined)
    return refuse('fingerprint_validation_failed', 'fingerprint_missing');
  if (!sameFingerprint(parent.fp, request.fingerprint)) {
    // Kept until the session could not refresh any more, whichever of its tokens is presented.
    const sessionEnd = new Date((parent.sessionStart + maxAge + KEEP_MARGIN_SECONDS) * 1000);
    const strikes = await deps.sessions.countFingerprintMismatch(parent.sessionId, sessionEnd);
    if (strikes < MAX_FINGERPRINT_MISMATCHES) {
      return refuse('fingerprint_validation_failed', 'fingerprint_mismatch', { strikes });
    }
    await deps.sessions.revokeSession(parent.sessionId, now);
    deps.sessionRevoked?.('fingerprint_mismatch');
    // Never a signal or a fingerprint here: the count and whose session it was.
    deps.log.warn(
      { accountSid: request.accountSid, identity: parent.identity, strikes },
      'session revoked: its refreshes kept presenting another fingerprint',
    );
    return refuse('fingerprint_validation_failed', 'fingerprint_mismatch', { strikes, sessionRevoked: true });
  }
  // Dropping or changing a binding would launder a copied token; a new sensitivity ends bound sessions.
  if (request.fingerprintLevel !== parent.fpl) {
    return refuse('fingerprint_validation_failed', 'binding_level_changed');
  }
  return undefined;
}

/** A key-bound parent refreshes only with a proof from its key (the API checked the proof). */
function checkKey({ request, refuse }: Rotation, parent: TokenClaims): Refused | undefined {
  const boundKey = parent.cnf?.jkt;
  if (boundKey === undefined || request.proofJkt === boundKey) return undefined;
  return refuse('invalid_dpop_proof', request.proofJkt === undefined ? 'dpop_missing' : 'dpop_other_key');
}

/** The parent's session is not revoked and not past its maximum age. */
async function checkSession(
  { deps, now, maxAge, refuse }: Rotation,
  parent: TokenClaims,
): Promise<Refused | undefined> {
  const subject = {
    sessionId: parent.sessionId,
    identity: parent.identity,
    accountSid: parent.sub,
    issuedAt: parent.iat,
  };
  if (await deps.sessions.isRevoked(subject, now)) return refuse('invalid_token', 'revoked');
  if (now.getTime() / 1000 - parent.sessionStart > maxAge) {
    return refuse('invalid_token', 'session_expired', { sessionAgeLimit: maxAge });
  }
  return undefined;
}

/**
 * A candidate successor: the request's grants, TTL and fingerprint, the parent's identity and session, and its
 * key binding (a key-bound parent's key, else the proof's key when the account binds).
 */
function mintSuccessor({ deps, request, now, maxAge }: Rotation, parent: TokenClaims): Promise<IssuedToken> {
  return mintToken(
    deps.keys,
    {
      accountSid: request.accountSid,
      grants: request.grants,
      ttl: request.ttl,
      fingerprint: request.fingerprint,
      fingerprintLevel: request.fingerprintLevel,
      identity: parent.identity,
      session: { id: parent.sessionId, startedAt: parent.sessionStart },
      sessionMaxAge: maxAge,
      jkt: parent.cnf?.jkt ?? (request.bindKey ? request.proofJkt : undefined),
    },
    { ...deps.policy, now: () => now },
  );
}

/**
 * Records the refresh under the parent's `jti`, with the successor sealed under the parent (successorBox.ts):
 * the first record wins, and only the winner's successor is ever sent.
 */
async function claimSuccessor(
  { deps, request, now }: Rotation,
  parent: TokenClaims,
  successor: IssuedToken,
  requester: Buffer,
): Promise<ClaimResult> {
  const claim = await deps.sessions.claimRefresh({
    parentJti: parent.jti,
    sessionId: parent.sessionId,
    requester,
    successor: sealSuccessor(JSON.stringify(successor), request.token, parent.jti),
    refreshedAt: now,
    // The parent cannot be presented after its expiry (the margin covers the verifiers' clock tolerance).
    expiresAt: new Date((parent.exp + KEEP_MARGIN_SECONDS) * 1000),
  });
  if (claim.won) {
    deps.log.info(
      {
        accountSid: request.accountSid,
        identity: parent.identity,
        ttl: request.ttl,
        fingerprintLevel: request.fingerprintLevel,
        wasBound: parent.fp !== undefined,
      },
      'token refreshed',
    );
  }
  return claim;
}

/**
 * The parent was refreshed before: the same browser within the grace window gets the recorded successor; any
 * other repeat (later, another browser, an unreadable record) revokes the session.
 */
async function answerRepeat(
  { deps, request, now, refuse }: Rotation,
  parent: TokenClaims,
  existing: Extract<ClaimResult, { won: false }>['existing'],
  requester: Buffer,
): Promise<RefreshOutcome> {
  const sinceFirst = (now.getTime() - existing.refreshedAt.getTime()) / 1000;
  const sameBrowser = Buffer.from(existing.requester).equals(requester);
  if (sameBrowser && sinceFirst <= deps.policy.reuseGraceSeconds) {
    const sealed = openSuccessor(existing.successor, request.token, parent.jti);
    const earlier = sealed === null ? null : parseIssued(sealed);
    if (earlier !== null) {
      deps.log.info({ accountSid: request.accountSid, identity: parent.identity }, 'token refresh repeated');
      return { outcome: 'refreshed', ...earlier };
    }
  }
  await deps.sessions.revokeSession(parent.sessionId, now);
  deps.sessionRevoked?.('refresh_reused');
  return refuse('invalid_token', 'refresh_reused', {
    identity: parent.identity,
    sameBrowser,
    secondsSinceFirstRefresh: Math.round(sinceFirst),
    sessionRevoked: true,
  });
}

function parseIssued(json: string): IssuedToken | null {
  try {
    const value = JSON.parse(json) as Partial<IssuedToken>;
    if (
      typeof value.token === 'string' &&
      typeof value.identity === 'string' &&
      typeof value.expiration === 'string'
    ) {
      return { token: value.token, identity: value.identity, expiration: value.expiration };
    }
  } catch {
    // fall through: an unreadable record is treated as reuse
  }
  return null;
}
