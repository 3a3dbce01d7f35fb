/** The chat session as the widget keeps it in this origin's localStorage. */

const storageKey = 'webchat-demo.session';

/**
 * @typedef {object} Session
 * @property {string} token
 * @property {string} identity
 * @property {string} expiration ISO-8601
 * @property {string} deploymentKey
 * @property {number} loginTimestamp when the chat session started; the refresh sends it again
 */

/** @returns {Session | null} the stored session, or null when there is none or it is not one we wrote */
export function loadSession() {
  let parsed;
  try {
    parsed = JSON.parse(localStorage.getItem(storageKey) ?? 'null');
  } catch {
    return null;
  }
  const ok =
    parsed !== null &&
    typeof parsed === 'object' &&
    typeof parsed.token === 'string' &&
    typeof parsed.identity === 'string' &&
    typeof parsed.expiration === 'string' &&
    !Number.isNaN(Date.parse(parsed.expiration)) &&
    typeof parsed.deploymentKey === 'string' &&
    typeof parsed.loginTimestamp === 'number';
  return ok ? parsed : null;
}

/** @param {Session} session */
export function saveSession(session) {
  localStorage.setItem(storageKey, JSON.stringify(session));
}

export function clearSession() {
  localStorage.removeItem(storageKey);
}

/** @param {Session} session */
export function isExpired(session, now = Date.now()) {
  return Date.parse(session.expiration) <= now;
}
