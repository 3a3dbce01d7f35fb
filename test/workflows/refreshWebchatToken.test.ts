import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { collectSignals } from '../../lib/fingerprint';
import * as sa from '../../domain/searchAttributes';
import type { AccountStore } from '../../store/accountStore';
import { openStore } from '../../store/openStore';
import { seedDemoAccounts } from '../../store/seed';
import { FakeFas } from '../helpers/fakeFas';
import { runIssuance, runRefresh, type RunContext } from '../helpers/runIssuance';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { otherBrowserHeaders, widgetHeaders } from '../helpers/widget';
import { accountSidOf } from '../helpers/storeReads';

describe('RefreshWebchatToken on the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  let store: AccountStore;
  let bundle: WorkflowBundleWithSourceMap;
  let ctx: RunContext;
  const browser = collectSignals(widgetHeaders(), '203.0.113.7');
  const otherBrowser = collectSignals(otherBrowserHeaders(), '198.51.100.1');

  before(async () => {
    [env, store, bundle] = await Promise.all([
      timeSkippingEnv(),
      openStore({ dataDir: null }),
      workflowBundle(),
    ]);
    await seedDemoAccounts(store);
    ctx = { env, store, bundle };
  });
  after(async () => {
    await env?.teardown();
    await store?.close();
  });

  /** A bound token for dk_demo_secure, issued to `browser`. */
  async function boundToken(fas: FakeFas) {
    const { result } = await runIssuance(ctx, { deploymentKey: 'dk_demo_secure', signals: browser }, fas);
    assert.equal(result.outcome, 'issued');
    return result.outcome === 'issued' ? result : assert.fail('not issued');
  }

  test('same browser: a new token for the same identity, bound again, with the CORS decision', async () => {
    const fas = new FakeFas();
    const issued = await boundToken(fas);
    const { result, workflowId } = await runRefresh(
      ctx,
      {
        deploymentKey: 'dk_demo_secure',
        token: issued.token,
        signals: browser,
        origin: 'http://localhost:8081',
      },
      fas,
    );
    assert.equal(result.outcome, 'refreshed');
    assert.equal(result.outcome === 'refreshed' && result.identity, issued.identity);
    assert.notEqual(result.outcome === 'refreshed' && result.token, issued.token);
    assert.deepEqual(result.cors, { allowOrigin: 'http://localhost:8081', vary: true });
    const call = fas.refreshCalls[0]!.body;
    assert.equal(call.fingerprintLevel, 'medium');
    assert.equal(
      call.fingerprint,
      fas.calls[0]!.body.fingerprint,
      'the same browser gives the same fingerprint',
    );
    assert.equal(call.ttl, 3600);
    const attrs = (await env.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes;
    assert.equal(attrs.get(sa.Outcome), 'refreshed');
  });

  test('key binding: the proof’s key goes to FAS, bound to the account’s setting; none where required is refused', async () => {
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const fas = new FakeFas();
    const issued = await runIssuance(ctx, { deploymentKey: 'dk_demo_dpop', dpop: { jkt } }, fas);
    const token = issued.result.outcome === 'issued' ? issued.result.token : assert.fail('not issued');
    for (const dpop of [undefined, { invalid: true } as const]) {
      const { result } = await runRefresh(ctx, { deploymentKey: 'dk_demo_dpop', token, dpop }, fas);
      assert.equal(result.outcome === 'refused' && result.code, 'invalid_dpop_proof');
    }
    assert.equal(fas.refreshCalls.length, 0, 'refused before FAS');
    const { result } = await runRefresh(ctx, { deploymentKey: 'dk_demo_dpop', token, dpop: { jkt } }, fas);
    assert.equal(result.outcome, 'refreshed');
    assert.deepEqual([fas.refreshCalls[0]?.body.proofJkt, fas.refreshCalls[0]?.body.bindKey], [jkt, true]);
    // Without key binding the proof's key still goes to FAS, so that a token bound before the account turned
    // binding off can refresh; nothing new is bound (bindKey false).
    const open = await runIssuance(ctx, { deploymentKey: 'dk_demo_open' }, fas);
    const openToken = open.result.outcome === 'issued' ? open.result.token : assert.fail('not issued');
    await runRefresh(ctx, { deploymentKey: 'dk_demo_open', token: openToken, dpop: { jkt } }, fas);
    assert.deepEqual([fas.refreshCalls[1]?.body.proofJkt, fas.refreshCalls[1]?.body.bindKey], [jkt, false]);
  });

  test("another browser's headers: refused as fingerprint_validation_failed", async () => {
    const fas = new FakeFas();
    const issued = await boundToken(fas);
    const { result, workflowId } = await runRefresh(
      ctx,
      { deploymentKey: 'dk_demo_secure', token: issued.token, signals: otherBrowser },
      fas,
    );
    assert.deepEqual(result, {
      outcome: 'refused',
      code: 'fingerprint_validation_failed',
      message: 'The token belongs to another browser.',
      accountSid: issued.accountSid,
      cors: { allowOrigin: 'http://localhost:8081,https://*.example.com', vary: true },
    });
    const attrs = (await env.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes;
    assert.equal(attrs.get(sa.DenyReason), 'fingerprint_validation_failed');
  });

  test('an Origin the account does not allow: refused as origin_not_allowed without asking FAS', async () => {
    const fas = new FakeFas();
    const issued = await boundToken(fas);
    const { result, workflowId } = await runRefresh(
      ctx,
      { deploymentKey: 'dk_demo_secure', token: issued.token, signals: browser, origin: 'https://evil.test' },
      fas,
    );
    assert.deepEqual(result, {
      outcome: 'refused',
      code: 'origin_not_allowed',
      message: "This page's origin is not one the account allows.",
      accountSid: issued.accountSid,
      cors: { allowOrigin: 'http://localhost:8081,https://*.example.com', vary: true },
    });
    assert.equal(fas.refreshCalls.length, 0);
    const attrs = (await env.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes;
    assert.equal(attrs.get(sa.DenyReason), 'origin_not_allowed');
  });

  test('a browser that cannot be fingerprinted: refused without asking FAS', async () => {
    const fas = new FakeFas();
    const issued = await boundToken(fas);
    const { result } = await runRefresh(ctx, { deploymentKey: 'dk_demo_secure', token: issued.token }, fas);
    assert.equal(result.outcome === 'refused' && result.code, 'fingerprint_validation_failed');
    assert.equal(fas.refreshCalls.length, 0);
  });

  test('an unknown token, or an unknown deployment key: invalid_token', async () => {
    const fas = new FakeFas();
    const unknownToken = await runRefresh(ctx, { deploymentKey: 'dk_demo_open', token: 'forged' }, fas);
    assert.equal(unknownToken.result.outcome === 'refused' && unknownToken.result.code, 'invalid_token');
    const unknownKey = await runRefresh(ctx, { deploymentKey: 'dk_gone', token: 'token-1' }, fas);
    assert.deepEqual(unknownKey.result, {
      outcome: 'refused',
      code: 'invalid_token',
      message: 'The token is invalid, expired or not for this deployment key.',
      accountSid: null,
      cors: { allowOrigin: '*', vary: false },
    });
  });

  test('a token of another account: invalid_token', async () => {
    const fas = new FakeFas();
    const issued = await boundToken(fas);
    const { result } = await runRefresh(ctx, { deploymentKey: 'dk_demo_open', token: issued.token }, fas);
    assert.equal(result.outcome === 'refused' && result.code, 'invalid_token');
  });

  test("the account's own session maximum age goes to FAS with the issuance and with the refresh", async () => {
    const fas = new FakeFas();
    const sid = (await accountSidOf(store, 'dk_demo_open'))!;
    await store.updateAccount(sid, { sessionMaxAgeSeconds: 600 });
    try {
      const { result: issued } = await runIssuance(ctx, { deploymentKey: 'dk_demo_open' }, fas);
      const token = issued.outcome === 'issued' ? issued.token : '';
      const { result } = await runRefresh(ctx, { deploymentKey: 'dk_demo_open', token }, fas);
      assert.equal(result.outcome, 'refreshed');
      assert.equal(fas.calls[0]!.body.sessionMaxAge, 600);
      assert.equal(fas.refreshCalls[0]!.body.sessionMaxAge, 600);
    } finally {
      await store.updateAccount(sid, { sessionMaxAgeSeconds: null });
    }
    // Back on the service default: nothing is sent, and SAS applies its SESSION_MAX_AGE_S.
    const again = new FakeFas();
    await runIssuance(ctx, { deploymentKey: 'dk_demo_open' }, again);
    assert.equal('sessionMaxAge' in again.calls[0]!.body, false);
  });

  test('an unbound token refreshes without a fingerprint when the flag is off', async () => {
    const fas = new FakeFas();
    const { result: issued } = await runIssuance(ctx, { deploymentKey: 'dk_demo_open' }, fas);
    const token = issued.outcome === 'issued' ? issued.token : '';
    const { result } = await runRefresh(ctx, { deploymentKey: 'dk_demo_open', token }, fas);
    assert.equal(result.outcome, 'refreshed');
    assert.equal(fas.refreshCalls[0]!.body.fingerprint, undefined);
  });
});
