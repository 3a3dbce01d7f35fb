/**
 * The public HTTP contract as zod schemas: what the token routes accept and what every public response looks
 * like, beside the shapes it shares with FAS and SAS (contracts.ts: the issued token, the refresh refusal).
 * The API validates requests and types its responses with these, and `api/openApi.ts` renders the same
 * schemas into the OpenAPI document, so the contract is written once.
 */
import { z } from 'zod';
import { type IssuedToken, issuedTokenSchema, refreshRefusalSchema } from './contracts';
import { type ErrorCode, errorStatus } from './errors';

// --- Request fields ---------------------------------------------------------------------------------------

export const deploymentKeySchema = z
  .string({ error: 'deploymentKey must be a string.' })
  .min(1, 'deploymentKey is empty.')
  .max(256, 'deploymentKey is longer than 256 characters.')
  .regex(/^[\x21-\x7e]+$/, 'deploymentKey has characters a deployment key never has.')
  .meta({ description: "The site's deployment key.", example: 'dk_demo_open' });

export const refreshTokenSchema = z
  .string({ error: 'token must be a string.' })
  .min(1, 'token is empty.')
  .max(4096, 'token is longer than 4096 characters.')
  .regex(/^[A-Za-z0-9._-]+$/, 'token is not a compact JWE.')
  .meta({ description: 'The token being refreshed (a compact JWE).' });

/** `Idempotency-Key`: 1 to 128 characters of a URL- and log-safe set (e.g. a UUID). */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:~+=/-]{1,128}$/)
  .meta({
    description:
      'Retries with the same key (same deployment key and browser) within the idempotency window get the ' +
      'outcome of the first request: the same token, never a second one.',
    example: '0f8b6f7e-3c1d-4a8e-9a55-3f1c2b7d9e10',
  });

/** `X-Request-Id`: taken from the caller when well formed, else made; echoed on every response. */
export const requestIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{8,64}$/)
  .meta({
    description:
      'Correlation id of the request, in log lines and the `WebchatRequestId` search attribute; never the ' +
      'workflow id, so requests that share one still get a run each.',
  });

/** Form fields the shipped widget may send besides the deployment key; accepted and ignored. */
const widgetFormFields = {
  CustomerFriendlyName: z.string().optional(),
  PreEngagementData: z.string().optional(),
  Identity: z.string().optional(),
};

/** JSON bodies (`deploymentKey`; the PascalCase spelling of the form is accepted too). */
export const tokenRequestJsonSchema = z
  .looseObject({ deploymentKey: deploymentKeySchema })
  .meta({ id: 'TokenRequest', description: 'Other fields are ignored.' });
export const tokenRequestFormSchema = z
  .looseObject({ DeploymentKey: deploymentKeySchema, ...widgetFormFields })
  .meta({ id: 'TokenRequestForm', description: "The shipped widget's form post; other fields are ignored." });
export const refreshRequestJsonSchema = z
  .looseObject({ deploymentKey: deploymentKeySchema, token: refreshTokenSchema })
  .meta({ id: 'RefreshRequest' });
export const refreshRequestFormSchema = z
  .looseObject({ DeploymentKey: deploymentKeySchema, Token: refreshTokenSchema, ...widgetFormFields })
  .meta({ id: 'RefreshRequestForm' });

/** Request headers of the widget (fingerprint signals, design section 6). All optional on the wire. */
export const widgetRequestHeaders = {
  Origin: z.string().optional().meta({ description: 'Decides Access-Control-Allow-Origin.' }),
  // Any value is accepted: one that is not a well-formed id (requestIdSchema) is replaced, never refused, so a
  // client's own tracing scheme never costs it a token.
  'X-Request-Id': z
    .string()
    .optional()
    .meta({
      description:
        'Correlation id (8 to 64 of `A-Z a-z 0-9 . _ -`), echoed and logged; any other value is replaced by ' +
        'one the edge makes.',
    }),
  'X-Twilio-Sec-Usersettings': z
    .string()
    .optional()
    .meta({ description: 'JSON `{language, cookieEnabled, userTimezone}` (fingerprint signal).' }),
  'X-Twilio-Sec-Decoders': z
    .string()
    .optional()
    .meta({ description: 'JSON `{audio, video}` media-capability results (fingerprint signal).' }),
  'X-Twilio-Sec-Webchatinfo': z
    .string()
    .optional()
    .meta({ description: 'JSON `{loginTimestamp}` (fingerprint signal).' }),
  DPoP: z
    .string()
    .optional()
    .meta({
      description:
        'A DPoP proof (RFC 9449) signed with a key the browser holds: `typ` dpop+jwt, an asymmetric `alg`, the ' +
        'public `jwk`; claims `jti`, `htm` POST, `htu` the public URL of this route, `iat`, and on a refresh ' +
        '`ath` (the SHA-256 of the token presented). An account with key binding binds the token to that key ' +
        '(`cnf.jkt`); one without ignores the proof.',
    }),
  'Ui-Version': z.string().optional().meta({ description: "The shipped widget's version; not used." }),
  'Webchat-Version': z.string().optional().meta({ description: "The widget's Webchat version; not used." }),
};

// --- Response bodies --------------------------------------------------------------------------------------

/** The 200 body of both token routes: the token SAS minted, as FAS passed it through. */
export const issuedTokenBodySchema = issuedTokenSchema.meta({ id: 'IssuedToken' });
export type IssuedTokenBody = IssuedToken;

const errorCodes = Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]];

/**
 * The error body of every service: a stable code to switch on and a message written for people. The document
 * narrows `code` to the codes each status can carry.
 */
export const errorBodySchema = (codes: readonly [ErrorCode, ...ErrorCode[]] = errorCodes) =>
  z.object({ code: z.enum(codes), message: z.string().min(1) });
export type ErrorBody = z.infer<ReturnType<typeof errorBodySchema>>;

/** A refused refresh (403): FAS's refusal, answered as it is, or the run's own refusal of a disallowed Origin. */
export const refreshRefusalBodySchema = refreshRefusalSchema
  .extend({ code: z.enum([...refreshRefusalSchema.shape.code.options, 'origin_not_allowed']) })
  .meta({ id: 'RefreshRefusal' });
export type RefreshRefusalBody = z.infer<typeof refreshRefusalBodySchema>;

export const healthSchema = z.object({ status: z.literal('ok') });
export const readySchema = z.object({ status: z.literal('ready') });
export const notReadySchema = z.object({ status: z.literal('not_ready') });

// --- Response headers -------------------------------------------------------------------------------------

const allowOrigin = z
  .string()
  .min(1)
  .meta({
    description:
      '`*` for an account without allowed origins and before the account is known; the request Origin when ' +
      'an allowed entry matches it (with `Vary: Origin`); else the entries joined by commas.',
  });
const retryAfter = z
  .string()
  .regex(/^[1-9][0-9]*$/)
  .meta({ description: 'Seconds to wait before retrying.' });

/** Headers every public response carries. */
export const publicResponseHeaders = {
  'Access-Control-Allow-Origin': allowOrigin,
  'X-Request-Id': requestIdSchema,
};
/** 429 and 503 of the token routes also say when to retry. */
export const retryResponseHeaders = { ...publicResponseHeaders, 'Retry-After': retryAfter };
