import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { CreateWebchatTokenInput } from '../../domain/contracts';
import { collectSignals } from '../../lib/fingerprint';
import * as sa from '../../domain/searchAttributes';
import type { AccountStore } from '../../store/accountStore';
import { openStore } from '../../store/openStore';
import { seedDemoAccounts } from '../../store/seed';
import { FakeFas } from '../helpers/fakeFas';
import { runIssuance } from '../helpers/runIssuance';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { widgetHeaders } from '../helpers/widget';

describe('CreateWebchatToken on the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  let store: AccountStore;
  let bundle: WorkflowBundleWithSourceMap;

  before(async () => {
    [env, store, bundle] = await Promise.all([
      timeSkippingEnv(),
      openStore({ dataDir: null }),
      workflowBundle(),
    ]);
    await seedDemoAccounts(store);
  });
  after(async () => {
    await env?.teardown();
    await store?.close();
  });

  const issue = (input: Partial<CreateWebchatTokenInput>, fas?: FakeFas) =>
    runIssuance({ env, store, bundle }, input, fas);

  test('flag off: a token without fingerprint, ACAO * for an account with no allowed origins', async () => {
    const { result, fas } = await issue({ deploymentKey: 'dk_demo_open', origin: 'https://anywhere.test' });
    assert.equal(result.outcome, 'issued');
    assert.deepEqual(result.cors, { allowOrigin: '*', vary: false });
    assert.equal(fas.calls.length, 1);
    const call = fas.calls[0]!;
    assert.equal(call.body.fingerprint, undefined);
    assert.equal(call.body.ttl, 3600);
    assert.match(call.accountSid, /^AC[0-9a-f]{32}$/);
    assert.match(call.body.grants.webchat.addressSid, /^AD[0-9a-f]{32}$/);
  });

  test('key binding required (dk_demo_dpop): a valid proof binds the token to its key, none is denied 400', async () => {
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const bound = await issue({
      deploymentKey: 'dk_demo_dpop',
      origin: 'http://localhost:8081',
      dpop: { jkt },
    });
    assert.equal(bound.result.outcome, 'issued');
    assert.equal(bound.fas.calls[0]?.body.jkt, jkt);
    for (const dpop of [undefined, { invalid: true } as const]) {
      const denied = await issue({ deploymentKey: 'dk_demo_dpop', origin: 'http://localhost:8081', dpop });
      assert.equal(denied.result.outcome, 'denied');
      assert.equal(denied.result.outcome === 'denied' && denied.result.reason, 'dpop_proof_required');
      assert.equal(denied.fas.calls.length, 0, 'nothing is minted');
    }
    // An account without key binding ignores the proof, valid or not: the token is not bound.
    for (const dpop of [{ jkt }, { invalid: true } as const]) {
      const open = await issue({ deploymentKey: 'dk_demo_open', dpop });
      assert.equal(open.result.outcome, 'issued');
      assert.equal(open.fas.calls[0]?.body.jkt, undefined);
    }
  });

  test('flag on, fingerprint generated: the token request carries the fingerprint and its level', async () => {
    const signals = collectSignals(widgetHeaders(), '203.0.113.7');
    const { result, fas } = await issue({
      deploymentKey: 'dk_demo_secure',
      origin: 'http://localhost:8081',
      signals,
    });
    assert.equal(result.outcome, 'issued');
    assert.deepEqual(result.cors, { allowOrigin: 'http://localhost:8081', vary: true });
    const body = fas.calls[0]!.body;
    assert.equal(body.fingerprintLevel, 'medium');
    assert.match(body.fingerprint ?? '', /^v1\.[A-Za-z0-9_-]{43}$/);
  });

  test('flag on, fingerprint generation fails: denied, no token requested, ACAO is the joined list', async () => {
    // No Origin (a server's request): a disallowed one is refused before fingerprinting (next test).
    const { result, fas } = await issue({
      deploymentKey: 'dk_demo_secure',
      origin: null,
      signals: collectSignals({ 'user-agent': 'curl/8.5.0' }, '203.0.113.7'),
    });
    assert.deepEqual(result, {
      outcome: 'denied',
      reason: 'fingerprint_generation_failed',
      message: 'The browser fingerprint could not be generated from this request.',
      accountSid: result.accountSid,
      cors: { allowOrigin: 'http://localhost:8081,https://*.example.com', vary: true },
    });
    assert.match(result.accountSid ?? '', /^AC/);
    assert.equal(fas.calls.length, 0);
  });

  test('an Origin the account does not allow: denied as origin_not_allowed before fingerprint or FAS', async () => {
    for (const origin of ['https://evil.test', 'https://example.com', 'http://shop.example.com', 'null']) {
      const { result, fas, workflowId } = await issue({
        deploymentKey: 'dk_demo_secure',
        origin,
        signals: collectSignals(widgetHeaders(), '203.0.113.7'),
      });
      assert.deepEqual(
        result,
        {
          outcome: 'denied',
          reason: 'origin_not_allowed',
          message: "This page's origin is not one the account allows.",
          accountSid: result.accountSid,
          cors: { allowOrigin: 'http://localhost:8081,https://*.example.com', vary: true },
        },
        origin,
      );
      assert.equal(fas.calls.length, 0);
      const handle = env.client.workflow.getHandle(workflowId);
      assert.equal((await handle.describe()).typedSearchAttributes.get(sa.DenyReason), 'origin_not_allowed');
      // loadAccount only: no fingerprint step, no FAS call.
      const steps = ((await handle.fetchHistory()).events ?? []).filter(
        (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
      );
      assert.equal(steps.length, 1, origin);
    }
  });

  test('an allowed Origin (a wildcard subdomain) or none at all is served as before', async () => {
    const signals = collectSignals(widgetHeaders(), '203.0.113.7');
    const sub = await issue({ deploymentKey: 'dk_demo_secure', origin: 'https://shop.example.com', signals });
    assert.equal(sub.result.outcome, 'issued');
    assert.deepEqual(sub.result.cors, { allowOrigin: 'https://shop.example.com', vary: true });
    const none = await issue({ deploymentKey: 'dk_demo_secure', origin: null, signals });
    assert.equal(none.result.outcome, 'issued');
    // An account without allowed origins serves any page.
    const open = await issue({ deploymentKey: 'dk_demo_open', origin: 'https://evil.test' });
    assert.equal(open.result.outcome, 'issued');
  });

  test('unknown deployment key: denied as invalid_deployment_key without touching FAS', async () => {
    const { result, fas } = await issue({ deploymentKey: 'dk_nobody_has_this' });
    assert.equal(result.outcome, 'denied');
    assert.equal(result.outcome === 'denied' && result.reason, 'invalid_deployment_key');
    assert.equal(result.accountSid, null);
    assert.deepEqual(result.cors, { allowOrigin: '*', vary: false });
    assert.equal(fas.calls.length, 0);
  });

  test('search attributes record account, security and outcome', async () => {
    const { workflowId } = await issue({
      deploymentKey: 'dk_demo_secure',
      signals: collectSignals(widgetHeaders(), '203.0.113.7'),
    });
    const description = await env.client.workflow.getHandle(workflowId).describe();
    const attrs = description.typedSearchAttributes;
    assert.equal(attrs.get(sa.Outcome), 'issued');
    assert.equal(attrs.get(sa.Security), true);
    assert.match(attrs.get(sa.AccountSid) ?? '', /^AC[0-9a-f]{32}$/);
    assert.equal(attrs.get(sa.DenyReason), undefined);
  });

  test('a FAS outage is retried with backoff until FAS recovers (time skipped)', async () => {
    const fas = new FakeFas();
    fas.failNext = 6; // about 11 s of backoff, skipped by the test server
    const before = await env.currentTimeMs();
    const { result } = await issue({ deploymentKey: 'dk_demo_open' }, fas);
    assert.equal(result.outcome, 'issued');
    assert.equal(fas.calls.length, 7);
    assert.ok((await env.currentTimeMs()) - before >= 10_000, 'the backoff ran on workflow time');
  });

  test('a FAS outage longer than the retry budget fails the workflow (the API answers 503)', async () => {
    const fas = new FakeFas();
    fas.failNext = Number.MAX_SAFE_INTEGER;
    await assert.rejects(issue({ deploymentKey: 'dk_demo_open' }, fas), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      return true;
    });
    assert.ok(fas.calls.length > 10);
  });
});
