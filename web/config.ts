import { z } from 'zod';
import { baseUrl, logLevel, parseEnv, port } from '../lib/config';

const schema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  /** The demo page's origin `http://localhost:8081` is an allowed origin of `dk_demo_secure`. */
  WEB_PORT: port(8081),
  /** A second origin for the same page that no demo account allows, to show a CORS refusal. */
  WEB_OTHER_PORT: port(8082),
  /** The edge as the visitor's browser reaches it (not the internal address of the API). */
  EDGE_PUBLIC_URL: baseUrl('http://localhost:8080').refine(
    (u) => /^https?:\/\/[^/]+$/.test(u),
    'must be an http(s) origin, without a path',
  ),
  LOG_LEVEL: logLevel,
});

export type WebConfig = z.infer<typeof schema>;

export const loadWebConfig = (env: NodeJS.ProcessEnv = process.env): WebConfig => parseEnv(schema, env);
