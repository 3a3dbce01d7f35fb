import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { loadCodecKeys, rotateCodecKeys } from '../../../lib/secrets/codecKeys';
import { EncryptionCodec } from '../../../lib/codec/encryptionCodec';
import { encryptedDataConverter } from '../../../lib/codec/loadCodec';
import { collectSignals } from '../../../lib/fingerprint';
import { createLogger } from '../../../lib/logger';
import { serve, type Served } from '../../../lib/http/serve';
import { createCodecServerApp } from '../../../services/codec-server/app';
import { defaultAllowedHosts } from '../../../services/codec-server/config';
import { freePorts } from '../../../scripts/stack';
import type { AccountStore } from '../../../store/accountStore';
import { openStore } from '../../../store/openStore';
import { seedDemoAccounts } from '../../../store/seed';
import { runIssuance } from '../../helpers/runIssuance';
import { timeSkippingEnv, workflowBundle } from '../../helpers/temporal';
import { widgetHeaders } from '../../helpers/widget';

/** What must never be readable in Temporal's history: the token, the deployment key, the raw signals. */
const secretsOf = (token: string) => [
  token,
  'dk_demo_secure',
  'Chrome/131.0.0.0',
  'userTimezone',
  '203.0.113.7',
];

describe('encrypted history', () => {
  let env: TestWorkflowEnvironment;
  let store: AccountStore;
  let bundle: WorkflowBundleWithSourceMap;
  let dir: string;
  let codecServer: Served;
  let codec: EncryptionCodec;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codec-'));
    [env, store, bundle] = await Promise.all([
      timeSkippingEnv(),
      openStore({ dataDir: null }),
      workflowBundle(),
    ]);
    await seedDemoAccounts(store);
    // The codec server's codec shows plain payloads (search attributes, a hand-started run's input) as they are.
    codec = new EncryptionCodec(await loadCodecKeys({ file: join(dir, 'codec-keys.json') }), 'pass');
    const [port] = (await freePorts(1)) as [number];
    codecServer = await serve(
      createCodecServerApp({
        codec,
        corsOrigins: ['http://localhost:8233'],
        allowedHosts: defaultAllowedHosts(port),
        logger: createLogger('codec', 'silent'),
      }),
      port,
    );
  });
  after(async () => {
    await codecServer?.close();
    await env?.teardown();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('raw history holds no token or signal; the codec server gives them back', async () => {
    const ring = await loadCodecKeys({ file: join(dir, 'codec-keys.json') });
    const { result, workflowId } = await runIssuance(
      { env, store, bundle, dataConverter: encryptedDataConverter(ring) },
      { deploymentKey: 'dk_demo_secure', signals: collectSignals(widgetHeaders(), '203.0.113.7') },
    );
    assert.equal(result.outcome, 'issued');
    const token = result.outcome === 'issued' ? result.token : '';

    // Read as an operator without the codec would: the raw events.
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const raw = historyToJSON(history);
    const rawDecoded = Buffer.from(raw).toString('utf8') + decodeAllBase64(raw);
    for (const secret of secretsOf(token))
      assert.ok(!rawDecoded.includes(secret), `raw history shows ${secret}`);
    assert.ok(
      raw.includes(Buffer.from('binary/encrypted').toString('base64')),
      'payloads are marked encrypted',
    );

    // The UI's path: every payload of the history through the codec server's /decode.
    const payloads = (JSON.parse(raw) as { events: unknown[] }).events.flatMap(collectPayloads);
    const res = await fetch(`${codecServer.url}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:8233' },
      body: JSON.stringify({ payloads }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    const decoded = JSON.stringify(await res.json());
    const plain = decodeAllBase64(decoded);
    assert.ok(plain.includes(token), 'the decoded result holds the token');
    assert.ok(plain.includes('dk_demo_secure'), 'the decoded input holds the deployment key');
  });

  test('the codec encodes with the current key and still decodes payloads of a rotated-out key', async () => {
    const path = join(dir, 'rotating.json');
    const before = await loadCodecKeys({ file: path });
    const old = await new EncryptionCodec(before).encode([{ metadata: {}, data: Buffer.from('"hello"') }]);
    const newKid = await rotateCodecKeys(path);
    const after = await loadCodecKeys({ file: path });
    assert.equal(after.current, newKid);
    assert.equal(after.keys.size, 2);
    const [decoded] = await new EncryptionCodec(after).decode(old);
    assert.equal(Buffer.from(decoded!.data!).toString(), '"hello"');
    const [fresh] = await new EncryptionCodec(after).encode([{ metadata: {}, data: Buffer.from('"x"') }]);
    assert.equal(Buffer.from(fresh!.metadata!['encryption-key-id']!).toString(), newKid);
  });

  test('a tampered payload or an unknown key id fails to decode', async () => {
    const [sealed] = await codec.encode([{ metadata: {}, data: Buffer.from('"secret"') }]);
    // Flip every bit of one ciphertext byte: setting it to 0 did nothing when it already was 0 (1 run in 256).
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 0xff;
    const tampered = { ...sealed!, data };
    await assert.rejects(codec.decode([tampered]));
    const unknown = {
      ...sealed!,
      metadata: { ...sealed!.metadata, 'encryption-key-id': Buffer.from('nope') },
    };
    await assert.rejects(codec.decode([unknown]), /unknown codec key id/);
  });

  test('the codec server refuses malformed input with a JSON error, and other origins with no CORS', async () => {
    const res = await fetch(`${codecServer.url}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:8233' },
      body: '{"nope":1}',
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, 'invalid_request');
    const evil = await fetch(`${codecServer.url}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.test' },
      body: '{"payloads":[]}',
    });
    assert.equal(evil.status, 403);
    assert.equal(((await evil.json()) as { code: string }).code, 'origin_not_allowed');
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
  });

  test('the data converter of the API and the worker refuses a plain payload; the codec server shows it', async () => {
    const ring = await loadCodecKeys({ file: join(dir, 'codec-keys.json') });
    const strict = encryptedDataConverter(ring).payloadCodecs![0]!;
    const plain = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"a":1}') };
    await assert.rejects(strict.decode([plain]), {
      name: 'UnencryptedPayloadError',
      message: 'refused an unencrypted payload: runs must be started through the API',
    });
    await assert.rejects(strict.decode([{ data: Buffer.from('{"a":1}') }]), {
      name: 'UnencryptedPayloadError',
    });
    const [sealed] = await strict.encode([plain]);
    const [opened] = await strict.decode([sealed!]);
    assert.equal(Buffer.from(opened!.data!).toString(), '{"a":1}');
    assert.deepEqual(await codec.decode([plain]), [plain]);
  });
});

/** Payloads anywhere in a proto3-JSON history event. */
function collectPayloads(node: unknown): unknown[] {
  if (Array.isArray(node)) return node.flatMap(collectPayloads);
  if (node && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    if ('metadata' in obj && 'data' in obj && typeof obj.data === 'string') return [obj];
    return Object.values(obj).flatMap(collectPayloads);
  }
  return [];
}

/** Every base64 string in a JSON text, decoded, so a secret hidden in base64 is found too. */
function decodeAllBase64(text: string): string {
  return (text.match(/[A-Za-z0-9+/=_-]{8,}/g) ?? [])
    .map((s) => Buffer.from(s, 'base64').toString('utf8'))
    .join('\n');
}
