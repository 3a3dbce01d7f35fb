import type { Context, Middleware } from 'koa';
import type { CorsDecision } from '../domain/contracts';

/**
 * Headers the widget sends; the preflight must allow every one, or the browser never sends the POST. The shipped
 * widget (twilio-webchat-react-app, `src/utils/generateHeaders.ts`) adds its `ui-version` and `webchat-version`
 * to every request besides the three `x-twilio-sec-*` fingerprint headers.
 */
const widgetHeaders = [
  'Content-Type',
  'X-Twilio-Sec-Usersettings',
  'X-Twilio-Sec-Decoders',
  'X-Twilio-Sec-Webchatinfo',
  'Ui-Version',
  'Webchat-Version',
  'X-Request-Id',
  'Idempotency-Key',
  // A DPoP proof (RFC 9449) signed with the page's key, for accounts with key binding.
  'DPoP',
];

/** What every preflight of the token routes answers (also rendered into the OpenAPI document). */
export const preflightHeaders = {
  'Access-Control-Allow-Methods': 'POST, OPTIONS',
  'Access-Control-Allow-Headers': widgetHeaders.join(', '),
  'Access-Control-Max-Age': '7200',
} as const;

/** Headers a page script may read from a reply. */
const exposedHeaders = 'X-Request-Id, Retry-After';

/** Before the account is known (bad input, outages, preflight) the answer is readable from any origin. */
const beforeAccountKnown: CorsDecision = { allowOrigin: '*', vary: false };

export function applyCors(ctx: Context, decision: CorsDecision): void {
  ctx.set('Access-Control-Allow-Origin', decision.allowOrigin);
  if (decision.vary) ctx.vary('Origin');
  else ctx.remove('Vary');
}

/**
 * Every response of the token routes carries ACAO, errors included: `*` until the workflow has loaded the
 * account's allowed origins, then the decision of `corsFor`. Also the headers every public response needs.
 */
export function publicHeaders(): Middleware {
  return async (ctx, next) => {
    applyCors(ctx, beforeAccountKnown);
    ctx.set('Access-Control-Expose-Headers', exposedHeaders);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Content-Type-Options', 'nosniff');
    await next();
  };
}

/**
 * A preflight carries no body, so the deployment key and its allowed origins are unknown here: the preflight
 * is answered alike for every origin, and the POST's ACAO enforces the account's list.
 */
export function preflight(): Middleware {
  return (ctx) => {
    ctx.set(preflightHeaders);
    ctx.status = 204;
  };
}
