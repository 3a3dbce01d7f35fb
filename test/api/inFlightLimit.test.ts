import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { limitInFlight } from '../../api/inFlightLimit';
import type { TokenRuns } from '../../api/tokenRuns';
import { noRefresh } from '../helpers/tokenRuns';
import type { CreateWebchatTokenInput, CreateWebchatTokenResult } from '../../domain/contracts';
import { AppError } from '../../domain/errors';

/** An issuer whose calls stay pending until released, to hold requests in flight. */
function heldIssuer() {
  const pending: (() => void)[] = [];
  const issuer: TokenRuns = {
    ...noRefresh,
    runCreate: () =>
      new Promise<CreateWebchatTokenResult>((resolve) =>
        pending.push(() =>
          resolve({
            outcome: 'denied',
            reason: 'invalid_deployment_key',
            message: 'm',
            accountSid: null,
            cors: { allowOrigin: '*', vary: false },
          }),
        ),
      ),
    ready: () => Promise.resolve(true),
  };
  return { issuer, releaseAll: () => pending.splice(0).forEach((r) => r()) };
}

const input = { requestId: 'r', deploymentKey: 'k', origin: null, signals: {} } as CreateWebchatTokenInput;

describe('limitInFlight', () => {
  test('beyond the cap a request is refused at once with 503 + Retry-After; capacity comes back', async () => {
    const held = heldIssuer();
    const issuer = limitInFlight(2, held.issuer);
    const first = issuer.runCreate(input, 1000);
    const second = issuer.runCreate(input, 1000);
    await assert.rejects(issuer.runCreate(input, 1000), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'unavailable');
      assert.equal(err.headers['Retry-After'], '1');
      return true;
    });
    held.releaseAll();
    await Promise.all([first, second]);
    const third = issuer.runCreate(input, 1000);
    held.releaseAll();
    assert.equal((await third).outcome, 'denied');
  });

  test('a failed request frees its slot', async () => {
    const failing: TokenRuns = {
      ...noRefresh,
      runCreate: () => Promise.reject(new Error('boom')),
      ready: () => Promise.resolve(true),
    };
    const issuer = limitInFlight(1, failing);
    await assert.rejects(issuer.runCreate(input, 1000), /boom/);
    await assert.rejects(issuer.runCreate(input, 1000), /boom/);
  });
});
