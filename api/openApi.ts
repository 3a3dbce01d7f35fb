import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { type ErrorCode, errorStatus } from '../domain/errors';
import {
  errorBodySchema,
  healthSchema,
  idempotencyKeySchema,
  issuedTokenBodySchema,
  notReadySchema,
  publicResponseHeaders,
  readySchema,
  refreshRefusalBodySchema,
  refreshRequestFormSchema,
  refreshRequestJsonSchema,
  retryResponseHeaders,
  tokenRequestFormSchema,
  tokenRequestJsonSchema,
  widgetRequestHeaders,
} from '../domain/publicContract';
import { preflightHeaders } from './cors';
import { BODY_LIMIT } from './tokenRequest';

const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });

/** The codes the error table (domain/errors.ts) maps to `status`: the document cannot list another. */
const codesFor = (status: number): [ErrorCode, ...ErrorCode[]] => {
  const codes = (Object.keys(errorStatus) as ErrorCode[]).filter((code) => errorStatus[code] === status);
  const [first, ...rest] = codes;
  if (!first) throw new Error(`no error code has status ${status}`);
  return [first, ...rest];
};

const error = (description: string, status: number, headers = publicResponseHeaders) => ({
  description,
  headers: z.object(headers),
  ...json(errorBodySchema(codesFor(status))),
});

/** What both token routes answer besides their own 200 and 403. */
const sharedResponses: ZodOpenApiResponsesObject = {
  '400': error(
    'Malformed body, or a missing, over-long or malformed field or header; on an issuance for an account with ' +
      'key binding, `dpop_proof_required`: no valid DPoP proof (missing, replayed, stale, for another URL).',
    400,
  ),
  '413': error(`Body over ${BODY_LIMIT}.`, 413),
  '415': error('Content type other than JSON or form-encoded.', 415),
  '429': error(
    'Too many requests from this client IP or for this deployment key.',
    429,
    retryResponseHeaders,
  ),
  '503': error(
    'Temporal, FAS or SAS unavailable past the deadline, the API too busy, or the API unreachable from the edge.',
    503,
    retryResponseHeaders,
  ),
};

const issued = (description: string) => ({
  description,
  headers: z.object({
    ...publicResponseHeaders,
    Vary: z.literal('Origin').optional().meta({ description: 'When ACAO depends on the request Origin.' }),
  }),
  ...json(issuedTokenBodySchema),
});

const preflight: ZodOpenApiOperationObject = {
  summary: 'CORS preflight',
  description:
    'Answered alike for every origin: a preflight has no body, so the deployment key is unknown; the POST ' +
    "enforces the account's allowed origins.",
  responses: {
    '204': {
      description: 'Preflight accepted.',
      headers: z.object({
        ...publicResponseHeaders,
        'Access-Control-Allow-Methods': z.literal(preflightHeaders['Access-Control-Allow-Methods']),
        'Access-Control-Allow-Headers': z.literal(preflightHeaders['Access-Control-Allow-Headers']),
        'Access-Control-Max-Age': z.literal(preflightHeaders['Access-Control-Max-Age']),
      }),
    },
  },
};

const body = (jsonSchema: z.ZodType, formSchema: z.ZodType) => ({
  required: true,
  content: {
    'application/json': { schema: jsonSchema },
    'application/x-www-form-urlencoded': { schema: formSchema },
  },
});

/**
 * The OpenAPI 3.1 document of the public API, rendered from the zod schemas the API validates requests with
 * and types its responses with (domain/publicContract.ts). Served at `GET /openapi.json`, through the edge too.
 */
/** Both refresh paths: the same route, documented once. */
const refreshPath = (operationId: string, summary: string) => ({
  post: {
    operationId,
    summary,
    requestParams: { header: z.object(widgetRequestHeaders) },
    requestBody: body(refreshRequestJsonSchema, refreshRequestFormSchema),
    responses: {
      '200': issued('Refreshed: same identity, new expiration.'),
      '403': {
        description:
          'Refused: the token is invalid, expired, already refreshed or for another deployment key, or ' +
          'it belongs to another browser, or the page is on an origin the account does not allow, or ' +
          '`invalid_dpop_proof`: the token is bound to a key and the DPoP proof is missing, replayed, stale, ' +
          'for another URL or token, or signed by another key (which one, the answer does not say).',
        headers: z.object(publicResponseHeaders),
        ...json(refreshRefusalBodySchema),
      },
      ...sharedResponses,
    },
  },
  options: { ...preflight, operationId: `${operationId}Preflight` },
});

export function openApiDocument(): ReturnType<typeof createDocument> {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Webchat token service',
      version: '2.0.0',
      description:
        'Chat tokens for the website widget. Every response carries `X-Request-Id` and ' +
        '`Access-Control-Allow-Origin`; errors are JSON `{code, message}` with a stable code. A method a path ' +
        'does not list here is answered 405 `method_not_allowed` with `Allow` naming the methods it serves ' +
        '(`#/components/responses/MethodNotAllowed`).',
    },
    paths: {
      '/v2/Webchat/Token': {
        post: {
          operationId: 'createToken',
          summary: 'Issue a chat token for a deployment key',
          requestParams: {
            header: z.object({ ...widgetRequestHeaders, 'Idempotency-Key': idempotencyKeySchema.optional() }),
          },
          requestBody: body(tokenRequestJsonSchema, tokenRequestFormSchema),
          responses: {
            '200': issued('Issued.'),
            '403': error(
              'Unknown or revoked deployment key, an Origin the account does not allow, or the fingerprint could ' +
                'not be generated.',
              403,
            ),
            ...sharedResponses,
          },
        },
        options: { ...preflight, operationId: 'createTokenPreflight' },
      },
      '/v2/Webchat/Token/Refresh': refreshPath(
        'refreshToken',
        'A new token for the same identity, once per token',
      ),
      '/v2/Webchat/Tokens/Refresh': refreshPath(
        'refreshTokens',
        'The same refresh, on the path the shipped widget uses',
      ),
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Liveness (the edge answers it for itself, each API instance too)',
          responses: {
            '200': { description: 'Alive.', headers: z.object(publicResponseHeaders), ...json(healthSchema) },
          },
        },
      },
      '/readyz': {
        get: {
          operationId: 'ready',
          summary:
            'Readiness, for a load balancer: the edge answers for itself (some API instance in rotation), ' +
            'each API instance for itself (Temporal answers)',
          responses: {
            '200': {
              description: 'Ready: an API instance is in rotation (edge), Temporal answers (API).',
              headers: z.object(publicResponseHeaders),
              ...json(readySchema),
            },
            '503': {
              description: 'No API instance in rotation, Temporal does not answer, or shutting down.',
              headers: z.object(publicResponseHeaders),
              ...json(notReadySchema),
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openApi',
          summary: 'This document',
          responses: {
            '200': {
              description: 'The OpenAPI 3.1 document.',
              headers: z.object(publicResponseHeaders),
              ...json(z.looseObject({ openapi: z.literal('3.1.0') })),
            },
          },
        },
      },
    },
    components: {
      responses: {
        MethodNotAllowed: {
          description: 'A method the path does not serve, on any path of this document.',
          headers: z.object({
            ...publicResponseHeaders,
            Allow: z
              .string()
              .regex(/^[A-Z]+(, [A-Z]+)*$/)
              .meta({ description: 'The methods the path serves.' }),
          }),
          ...json(errorBodySchema(codesFor(405))),
        },
      },
    },
  });
}
