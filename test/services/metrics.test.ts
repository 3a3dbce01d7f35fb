import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Served } from '../../lib/http/serve';
import { loadFederatedAuthConfig } from '../../services/federated-auth/config';
import { startFederatedAuth } from '../../services/federated-auth/start';
import { loadScopedAuthConfig } from '../../services/scoped-auth/config';
import { startScopedAuth } from '../../services/scoped-auth/start';
import { serviceAuthorization } from '../../scripts/stack/serviceAuthorization';

/** `GET /metrics` of FAS and SAS, as a Prometheus server without any service credential scrapes them. */
describe('FAS and SAS metrics', () => {
  let dir: string;
  let sas: Served;
  let fas: Served;
  const accountSid = 'AC0123456789abcdef0123456789abcdef';
  const grants = { webchat: { addressSid: 'IS0123456789abcdef0123456789abcdef' } };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metrics-'));
    sas = await startScopedAuth(loadScopedAuthConfig({ SAS_PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'silent' }));
    fas = await startFederatedAuth(
      loadFederatedAuthConfig({ FAS_PORT: '0', SAS_URL: sas.url, DATA_DIR: dir, LOG_LEVEL: 'silent' }),
    );
  });
  after(async () => {
    await fas?.close();
    await sas?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const scrape = async (service: Served) => {
    const res = await fetch(`${service.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    return res.text();
  };
  /** The value of one sample line, 0 when the series does not exist yet. */
  const sample = (text: string, name: string, labels: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const tokens = async (signed = true) => {
    const url = `${fas.url}/v1/Accounts/${accountSid}/Tokens`;
    const body = JSON.stringify({ grants, ttl: 600 });
    const authorization = signed
      ? await serviceAuthorization(dir, 'orchestrator', 'federated-auth', { url, body })
      : undefined;
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body,
    });
  };

  test('token requests are counted by route and status on FAS, and the SAS calls they cause on SAS', async () => {
    const fasRoute = 'route="/v1/Accounts/:accountSid/Tokens",status="200"';
    const refusedRoute = 'route="unmatched",status="401"';
    const sasRoute = 'route="/v1/ScopedAuthTokens/generate/internal",status="200"';
    const [fasBefore, sasBefore] = [await scrape(fas), await scrape(sas)];

    for (let i = 0; i < 2; i++) assert.equal((await tokens()).status, 200);
    assert.equal((await tokens(false)).status, 401);

    const [fasAfter, sasAfter] = [await scrape(fas), await scrape(sas)];
    const delta = (b: string, a: string, name: string, labels: string) =>
      sample(a, name, labels) - sample(b, name, labels);
    assert.equal(delta(fasBefore, fasAfter, 'http_requests_total', fasRoute), 2);
    assert.equal(delta(fasBefore, fasAfter, 'http_requests_total', refusedRoute), 1);
    assert.equal(delta(sasBefore, sasAfter, 'http_requests_total', sasRoute), 2);
    assert.equal(delta(fasBefore, fasAfter, 'http_request_duration_seconds_count', fasRoute), 2);
    assert.match(fasAfter, /service="federated-auth"/);
    assert.match(sasAfter, /service="scoped-auth"/);
  });
});
