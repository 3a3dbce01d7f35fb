import { dpopProof, keyBindingAvailable } from './dpopKey.js';
import { securityHeaders } from './securityHeaders.js';

/**
 * Why a token request failed, in words a visitor (or a developer at the console) can act on.
 * `kind` is `network` when fetch rejected: the browser gives a page no more detail than that, and a CORS
 * refusal looks exactly the same from inside the page, although the server did answer.
 */
export class TokenRequestError extends Error {
  /**
   * @param {'network' | 'http'} kind
   * @param {string} message
   * @param {{status?: number, code?: string}} [details]
   */
  constructor(kind, message, details = {}) {
    super(message);
    this.name = 'TokenRequestError';
    this.kind = kind;
    this.status = details.status;
    this.code = details.code;
  }
}

/**
 * The shipped widget (twilio-webchat-react-app) adds its own version and its Webchat version to every request.
 * Neither is a CORS-safelisted header, so the browser sends a preflight first, and the edge must allow both.
 */
const versionHeaders = { 'ui-version': '0.1.0', 'webchat-version': '3.0.0' };

/** Longest wait for the edge: the widget must say something rather than spin forever. */
const timeoutMs = 20_000;

/**
 * Posts a form to the edge as the shipped widget does, and returns the JSON of a 2xx answer. Where WebCrypto is
 * available, every request carries a DPoP proof signed with the page's key (dpopKey.js): an account with key
 * binding binds the token to that key, one without ignores the proof.
 * @param {string} url
 * @param {Record<string, string>} fields
 * @param {number} loginTimestamp
 * @param {string} [accessToken] the token a refresh presents: the proof carries its hash
 * @returns {Promise<{token: string, identity: string, expiration: string}>}
 */
async function post(url, fields, loginTimestamp, accessToken) {
  const headers = {
    Accept: 'application/json',
    ...versionHeaders,
    ...(await securityHeaders(loginTimestamp)),
    ...(keyBindingAvailable() && { DPoP: await dpopProof({ method: 'POST', url, accessToken }) }),
  };
  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      body: new URLSearchParams(fields),
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'TimeoutError') {
      throw new TokenRequestError('network', `The edge did not answer within ${timeoutMs / 1000} s.`);
    }
    // fetch rejects with a TypeError both when the edge is unreachable and when the browser refuses to hand
    // the reply to this page because its Access-Control-Allow-Origin does not name this origin.
    throw new TokenRequestError(
      'network',
      `The browser reported "${err instanceof Error ? err.message : String(err)}". Either the edge at ` +
        `${new URL(url).origin} could not be reached, or it answered without allowing this page's origin ` +
        `(${location.origin}) in Access-Control-Allow-Origin (CORS), so the browser blocked the reply.`,
    );
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const code = typeof body?.code === 'string' ? body.code : undefined;
    const message = typeof body?.message === 'string' ? body.message : res.statusText || 'no details';
    throw new TokenRequestError(
      'http',
      `The edge answered ${res.status}${code ? ` ${code}` : ''}: ${message}`,
      {
        status: res.status,
        code,
      },
    );
  }
  if (
    typeof body?.token !== 'string' ||
    typeof body?.identity !== 'string' ||
    typeof body?.expiration !== 'string'
  ) {
    throw new TokenRequestError('http', `The edge answered ${res.status} without a token.`, {
      status: res.status,
    });
  }
  return { token: body.token, identity: body.identity, expiration: body.expiration };
}

/**
 * A new token: `POST /v2/Webchat/Token`.
 * @param {string} edgeUrl
 * @param {string} deploymentKey
 * @param {number} loginTimestamp
 */
export function requestToken(edgeUrl, deploymentKey, loginTimestamp) {
  return post(`${edgeUrl}/v2/Webchat/Token`, { DeploymentKey: deploymentKey }, loginTimestamp);
}

/**
 * A fresh token for the same identity: `POST /v2/Webchat/Tokens/Refresh`, the path the shipped widget uses (the
 * edge serves `Token/Refresh` alike). Refusals are 403
 * `{valid: false, code, message}`.
 * @param {string} edgeUrl
 * @param {string} deploymentKey
 * @param {string} token
 * @param {number} loginTimestamp
 */
export function refreshToken(edgeUrl, deploymentKey, token, loginTimestamp) {
  return post(
    `${edgeUrl}/v2/Webchat/Tokens/Refresh`,
    { DeploymentKey: deploymentKey, Token: token },
    loginTimestamp,
    token,
  );
}
