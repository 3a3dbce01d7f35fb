/**
 * Key binding (DPoP, RFC 9449) in the browser: an ECDSA P-256 key pair made by WebCrypto with
 * `extractable: false`, kept in this origin's IndexedDB (a CryptoKey survives structured cloning with its
 * non-extractability), so a reload finds the same key. Script on the page can sign with it while the page is
 * open; nobody can copy the private key elsewhere, so a token bound to it is worthless off this browser.
 */

const dbName = 'webchat-demo-dpop';
const storeName = 'keys';
const keyName = 'current';

/** WebCrypto needs a secure context (https:, or http://localhost); without it there is no key to bind to. */
export function keyBindingAvailable() {
  return globalThis.isSecureContext === true && globalThis.crypto?.subtle !== undefined;
}

/** @returns {Promise<IDBDatabase>} */
function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(dbName, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * @param {IDBDatabase} db
 * @param {'readonly' | 'readwrite'} mode
 * @param {(store: IDBObjectStore) => IDBRequest} action
 */
function transact(db, mode, action) {
  return new Promise((resolve, reject) => {
    const request = action(db.transaction(storeName, mode).objectStore(storeName));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The page's key pair: the stored one, else a new non-extractable one, stored. */
export async function keyPair() {
  const db = await openDb();
  try {
    const stored = /** @type {CryptoKeyPair | undefined} */ (
      await transact(db, 'readonly', (s) => s.get(keyName))
    );
    if (stored) return stored;
    const created = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ]);
    await transact(db, 'readwrite', (s) => s.put(created, keyName));
    return created;
  } finally {
    db.close();
  }
}

/** Forgets the key: the next token is bound to a new one (a new chat session). */
export async function forgetKey() {
  const db = await openDb();
  try {
    await transact(db, 'readwrite', (s) => s.delete(keyName));
  } finally {
    db.close();
  }
}

/** @param {ArrayBuffer | Uint8Array} bytes */
function base64url(bytes) {
  const text = String.fromCharCode(...new Uint8Array(bytes));
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** @param {unknown} value */
const encodeJson = (value) => base64url(new TextEncoder().encode(JSON.stringify(value)));

/**
 * A DPoP proof for one request: `typ` dpop+jwt, ES256, the public key in `jwk`; `htu` the URL without query
 * and fragment; with a token, `ath` its SHA-256. WebCrypto's ECDSA signature is already the JWS form (r || s).
 * @param {{method: string, url: string, accessToken?: string}} request
 */
export async function dpopProof({ method, url, accessToken }) {
  const { privateKey, publicKey } = await keyPair();
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', publicKey);
  const target = new URL(url);
  const claims = {
    jti: crypto.randomUUID(),
    htm: method,
    htu: `${target.origin}${target.pathname}`,
    iat: Math.floor(Date.now() / 1000),
    ...(accessToken && {
      ath: base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken))),
    }),
  };
  const input = `${encodeJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })}.${encodeJson(claims)}`;
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    privateKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${base64url(signature)}`;
}
