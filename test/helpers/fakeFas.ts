import type { FasClient } from '../../activities';
import type { FasTokenRequest, IssuedToken } from '../../lib/contracts';

/**
 * A stand-in for FAS in workflow tests (the end-to-end tests use the real one). It records every call and can
 * be told to fail its next N calls as an outage would.
 */
export class FakeFas implements Pick<FasClient, 'requestToken'> {
  calls: { accountSid: string; body: FasTokenRequest; requestId: string }[] = [];
  failNext = 0;

  requestToken(accountSid: string, body: FasTokenRequest, requestId: string): Promise<IssuedToken> {
    this.calls.push({ accountSid, body, requestId });
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error('FAS unavailable: HTTP 503'));
    }
    return Promise.resolve({
      token: `token-${this.calls.length}`,
      identity: `identity-${this.calls.length}`,
      expiration: '2030-01-01T00:00:00.000Z',
    });
  }
}
