import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { loadEdgeConfig } from '../../edge/config';
import { startEdge } from '../../edge/start';
import type { Served } from '../../lib/http/serve';
import { createLogger } from '../../lib/logger';
import { startTelemetry, type Telemetry } from '../../lib/telemetry';

/** Tracing on, as OTEL_TRACES_EXPORTER turns it on in production (this file runs in a process of its own). */
describe('the edge starts its own trace', () => {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  const received: IncomingHttpHeaders[] = [];
  let upstream: http.Server;
  let edge: Served;

  before(async () => {
    telemetry = startTelemetry('edge-test', {
      spanProcessor: new SimpleSpanProcessor(exporter),
      continueIncomingTraces: false,
    })!;
    upstream = http.createServer((req, res) => {
      if (req.url !== '/readyz') received.push(req.headers);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const { port } = upstream.address() as { port: number };
    edge = await startEdge(
      loadEdgeConfig({ EDGE_PORT: '0', API_URL: `http://127.0.0.1:${port}` }),
      createLogger('edge-test', 'silent'),
    );
  });
  after(async () => {
    await edge.close();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
    await telemetry.shutdown();
  });

  test('a client’s traceparent is not continued: the API gets the edge’s new trace, the client’s baggage is gone', async () => {
    const clientTrace = '0af7651916cd43dd8448eb211c80319c';
    const res = await fetch(`${edge.url}/v2/Webchat/Token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${clientTrace}-b7ad6b7169203331-01`,
        tracestate: 'vendor=client',
        baggage: 'userId=forged',
      },
      body: '{}',
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const forwarded = received.at(-1) ?? {};
    const traceparent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(forwarded.traceparent));
    assert.ok(traceparent, `the API gets a traceparent: ${String(forwarded.traceparent)}`);
    assert.notEqual(traceparent[1], clientTrace);
    assert.equal(forwarded.tracestate, undefined);
    assert.equal(forwarded.baggage, undefined);

    const edgePort = Number(new URL(edge.url).port);
    let spans = exporter.getFinishedSpans();
    for (let i = 0; i < 50 && !spans.some((s) => s.kind === SpanKind.SERVER); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      spans = exporter.getFinishedSpans();
    }
    const server = spans.find(
      (s) => s.kind === SpanKind.SERVER && s.attributes['net.host.port'] === edgePort,
    );
    assert.ok(server, 'the edge has a server span');
    assert.equal(server.parentSpanId, undefined, 'the edge’s span is a root');
    assert.equal(server.spanContext().traceId, traceparent[1], 'the API joins the edge’s trace');
    assert.ok(
      spans.every((s) => s.spanContext().traceId !== clientTrace),
      'no span in the client’s trace',
    );
  });
});
