import type { FasClient } from '../../activities';
import type {
  FasRefreshRequest,
  FasRefreshResult,
  FasTokenRequest,
  IssuedToken,
} from '../../domain/contracts';

/**
 * A stand-in for FAS in workflow tests (the end-to-end tests use the real one). It records every call, can be
 * told to fail its next N calls as an outage would, and refreshes the tokens it issued with FAS's rules: same
 * identity, a bound token only with the fingerprint it was bound to.
 */
export class FakeFas implements Pick<FasClient, 'postToken' | 'postRefresh'> {
  calls: { accountSid: string; body: FasTokenRequest; requestId: string }[] = [];
  refreshCalls: { accountSid: string; body: FasRefreshRequest; requestId: string }[] = [];
  failNext = 0;
  private issued = new Map<string, { accountSid: string; identity: string; fingerprint?: string }>();

  postToken(accountSid: string, body: FasTokenRequest, requestId: string): Promise<IssuedToken> {
    this.calls.push({ accountSid, body, requestId });
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error('FAS unavailable: HTTP 503'));
    }
    const n = this.calls.length;
    const token = { token: `token-${n}`, identity: `identity-${n}`, expiration: '2030-01-01T00:00:00.000Z' };
    this.issued.set(token.token, { accountSid, identity: token.identity, fingerprint: body.fingerprint });
    return Promise.resolve(token);
  }

  postRefresh(accountSid: string, body: FasRefreshRequest, requestId: string): Promise<FasRefreshResult> {
    this.refreshCalls.push({ accountSid, body, requestId });
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error('FAS unavailable: HTTP 503'));
    }
    const old = this.issued.get(body.token);
    if (!old || old.accountSid !== accountSid) {
      return Promise.resolve({ outcome: 'refused', code: 'invalid_token', message: 'invalid token' });
    }
    if (old.fingerprint !== undefined && old.fingerprint !== body.fingerprint) {
      return Promise.resolve({
        outcome: 'refused',
        code: 'fingerprint_validation_failed',
        message: 'other browser',
      });
    }
    const token = `refreshed-${this.refreshCalls.length}`;
    this.issued.set(token, { ...old });
    return Promise.resolve({
      outcome: 'refreshed',
      token,
      identity: old.identity,
      expiration: '2030-01-01T01:00:00.000Z',
    });
  }
}
