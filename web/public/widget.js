import { edgeUrl } from '/config.js';
import { forgetKey, keyBindingAvailable } from './dpopKey.js';
import { clearSession, isExpired, loadSession, saveSession } from './session.js';
import { refreshToken, requestToken, TokenRequestError } from './tokenClient.js';

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const widget = $('widget');
const form = /** @type {HTMLFormElement} */ ($('start-form'));
const keySelect = /** @type {HTMLSelectElement} */ ($('deployment-key'));
const startButton = /** @type {HTMLButtonElement} */ ($('start'));
const forgetButton = /** @type {HTMLButtonElement} */ ($('forget'));

/**
 * `data-state` (idle, loading, ready, error) and `data-refresh` (how the last resume went) let tests and
 * styles follow the widget without parsing its text.
 * @param {'idle' | 'loading' | 'ready' | 'error'} state
 * @param {string} status
 */
function setState(state, status) {
  widget.dataset.state = state;
  $('status').textContent = status;
  startButton.disabled = forgetButton.disabled = state === 'loading';
}

/** @param {string | null} message */
function showError(message, title = 'Request failed') {
  $('error').hidden = message === null;
  $('error-title').textContent = title;
  $('error-message').textContent = message ?? '';
}

/** @param {import('./session.js').Session | null} session */
function showSession(session) {
  $('session').hidden = session === null;
  if (!session) return;
  $('identity').textContent = session.identity;
  const expiration = /** @type {HTMLTimeElement} */ ($('expiration'));
  expiration.dateTime = session.expiration;
  expiration.textContent = `${new Date(session.expiration).toLocaleString()} (${session.expiration})`;
  $('session-key').textContent = session.deploymentKey;
  // Enough to tell two tokens apart on screen; the whole token stays out of sight.
  $('token-preview').textContent = `${session.token.slice(0, 12)}… (${session.token.length} characters)`;
}

/** @param {unknown} err */
function describe(err) {
  if (err instanceof TokenRequestError) return err.message;
  return `Unexpected error: ${err instanceof Error ? err.message : String(err)}`;
}

async function startChat() {
  const deploymentKey = keySelect.value;
  const loginTimestamp = Date.now();
  setState('loading', `Asking the edge for a token for ${deploymentKey}…`);
  showError(null);
  try {
    const answer = await requestToken(edgeUrl, deploymentKey, loginTimestamp);
    const session = { ...answer, deploymentKey, loginTimestamp };
    saveSession(session);
    showSession(session);
    widget.dataset.refresh = 'none';
    setState('ready', `Chat session started as ${session.identity}.`);
  } catch (err) {
    setState('error', 'No token: the chat cannot start.');
    showError(
      describe(err),
      err instanceof TokenRequestError && err.kind === 'network' ? 'Network or CORS error' : 'Request failed',
    );
  }
}

/**
 * After a reload: show the stored session, then ask for a fresh token for the same identity. Where the edge
 * has no refresh route (or cannot be reached), a session that has not expired is kept as it is.
 */
async function resume() {
  const stored = loadSession();
  if (!stored) return;
  keySelect.value = stored.deploymentKey;
  showSession(stored);
  setState('loading', `Resuming the chat session of ${stored.identity}…`);
  try {
    const answer = await refreshToken(edgeUrl, stored.deploymentKey, stored.token, stored.loginTimestamp);
    const session = { ...stored, ...answer };
    saveSession(session);
    showSession(session);
    widget.dataset.refresh = 'refreshed';
    setState('ready', `Session resumed as ${session.identity}; the token was refreshed.`);
  } catch (err) {
    const refused = err instanceof TokenRequestError && err.kind === 'http' && err.status === 403;
    if (refused || isExpired(stored)) {
      clearSession();
      showSession(null);
      widget.dataset.refresh = 'refused';
      setState('error', 'The stored session cannot be resumed: start a new chat.');
      showError(refused ? describe(err) : 'The stored token has expired.', 'Session not resumed');
      return;
    }
    widget.dataset.refresh = 'unavailable';
    setState(
      'ready',
      `Session resumed as ${stored.identity} from storage; the token could not be refreshed.`,
    );
    showError(null);
    console.info('token refresh unavailable:', describe(err));
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void startChat();
});
forgetButton.addEventListener('click', () => {
  clearSession();
  // A new session gets a new key: the old tokens stay bound to the one forgotten.
  if (keyBindingAvailable()) void forgetKey();
  showSession(null);
  showError(null);
  widget.dataset.refresh = 'none';
  setState('idle', 'Session forgotten. No chat session.');
});

$('page-origin').textContent = location.origin;
$('no-webcrypto').hidden = keyBindingAvailable();
void resume();
