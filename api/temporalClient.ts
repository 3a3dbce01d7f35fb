import { Client, type Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { temporalPlugins } from '../lib/temporalTracing';

/** What the API's Temporal-backed issuer and refresher are built from. */
export interface TemporalClientOptions {
  connection: Connection;
  namespace: string;
  /** The payload codec (encryption) shared with the worker. */
  dataConverter?: DataConverter;
}

/** A client with the payload codec and, when tracing is on, the OpenTelemetry plugin. */
export function temporalClient({ connection, namespace, dataConverter }: TemporalClientOptions): Client {
  return new Client({ connection, namespace, dataConverter, plugins: temporalPlugins() });
}
