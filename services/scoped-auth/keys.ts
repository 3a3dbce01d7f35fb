import { randomBytes, randomUUID, webcrypto } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import { z } from 'zod';

export interface SigningKey {
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** Public JWK as published at /.well-known/jwks.json. */
  readonly publicJwk: Readonly<JWK>;
}

export interface EncryptionKey {
  readonly kid: string;
  readonly enc: 'A256GCM';
  /** Non-extractable AES-GCM key, used directly as the content encryption key (`alg: dir`). */
  readonly key: CryptoKey;
}

/**
 * The keys SAS signs, encrypts, verifies and decrypts with. Minting uses `current`; validation looks keys up
 * by the token's `kid`, so adding previous keys (rotation) changes only how the ring is built.
 */
export interface KeyRing {
  readonly current: { readonly signing: SigningKey; readonly encryption: EncryptionKey };
  signingKey(kid: string): SigningKey | undefined;
  encryptionKey(kid: string): EncryptionKey | undefined;
  /** Public signing keys, as a JWK Set. */
  readonly jwks: { readonly keys: readonly Readonly<JWK>[] };
}

const SIGNING_FILE = 'signing.jwk.json';
const ENCRYPTION_FILE = 'encryption.jwk.json';

const b64u = z.string().regex(/^[A-Za-z0-9_-]+$/);
const signingJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: b64u,
  d: b64u,
  kid: z.string().min(1),
});
const encryptionJwkSchema = z.object({
  kty: z.literal('oct'),
  k: b64u.refine((k) => Buffer.from(k, 'base64url').length === 32, 'must be 256 bits'),
  kid: z.string().min(1),
});

/**
 * Loads the signing and encryption keys from `dir`, generating them on first start. Files are JWKs with mode
 * 0600 in a 0700 folder, created atomically so that processes starting together agree on one key.
 */
export async function loadOrCreateKeys(dir: string): Promise<KeyRing> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const signingPath = join(dir, SIGNING_FILE);
  const encryptionPath = join(dir, ENCRYPTION_FILE);
  const signingJwk = parseKeyFile(
    signingJwkSchema,
    await loadOrCreateJwk(signingPath, newSigningJwk),
    signingPath,
  );
  const encryptionJwk = parseKeyFile(
    encryptionJwkSchema,
    await loadOrCreateJwk(encryptionPath, newEncryptionJwk),
    encryptionPath,
  );
  const signing = await importSigningKey(signingJwk, signingPath);
  const encryption = await importEncryptionKey(encryptionJwk);
  return keyRing([signing], [encryption]);
}

function parseKeyFile<S extends z.ZodType>(schema: S, value: unknown, path: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = result.error.issues.map((i) => i.path.join('.') || '(file)').join(', ');
  throw new Error(`Key file ${path} is not a key of the expected kind (bad: ${fields})`);
}

/** The first key of each list is the current one; the others stay valid for tokens that name them. */
function keyRing(
  signing: [SigningKey, ...SigningKey[]],
  encryption: [EncryptionKey, ...EncryptionKey[]],
): KeyRing {
  const byKid = <K extends { kid: string }>(keys: K[]) => new Map(keys.map((k) => [k.kid, k]));
  const signingByKid = byKid(signing);
  const encryptionByKid = byKid(encryption);
  return {
    current: { signing: signing[0], encryption: encryption[0] },
    signingKey: (kid) => signingByKid.get(kid),
    encryptionKey: (kid) => encryptionByKid.get(kid),
    jwks: { keys: signing.map((k) => k.publicJwk) },
  };
}

async function newSigningJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const { kty, crv, x, d } = await exportJWK(privateKey);
  return { kty, crv, x, d, kid: await calculateJwkThumbprint({ kty, crv, x }), alg: 'EdDSA', use: 'sig' };
}

function newEncryptionJwk(): JWK {
  // A random kid, not a thumbprint: a symmetric key's thumbprint is a hash of the secret itself, and the kid is
  // readable by anyone holding a token.
  return {
    kty: 'oct',
    k: randomBytes(32).toString('base64url'),
    kid: randomUUID(),
    alg: 'A256GCM',
    use: 'enc',
  };
}

async function importSigningKey(jwk: z.infer<typeof signingJwkSchema>, path: string): Promise<SigningKey> {
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  const kid = await calculateJwkThumbprint(publicJwk);
  if (jwk.kid !== kid) throw new Error(`Signing key ${path}: kid is not the thumbprint of its public key`);
  return {
    kid,
    alg: 'EdDSA',
    privateKey: await importJWK({ ...publicJwk, d: jwk.d }, 'EdDSA', { extractable: false }),
    publicKey: await importJWK(publicJwk, 'EdDSA'),
    publicJwk: Object.freeze({ ...publicJwk, kid, alg: 'EdDSA', use: 'sig' }),
  };
}

async function importEncryptionKey(jwk: z.infer<typeof encryptionJwkSchema>): Promise<EncryptionKey> {
  const raw = Buffer.from(jwk.k, 'base64url');
  try {
    // Imported once as a non-extractable CryptoKey: faster per token than handing jose raw bytes.
    const key = await webcrypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
    return { kid: jwk.kid, enc: 'A256GCM', key };
  } finally {
    raw.fill(0);
  }
}

/**
 * Reads a JWK file, or creates it. The new key is written to a private temporary file and published with
 * link(2), which fails with EEXIST if another process got there first: readers never see a half-written file,
 * and every process ends up with the winner's key.
 */
async function loadOrCreateJwk(path: string, create: () => JWK | Promise<JWK>): Promise<unknown> {
  const existing = await readJwk(path);
  if (existing !== undefined) return existing;
  const jwk = await create();
  const tmp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(jwk, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600); // in case the umask took bits away we need (it cannot add any)
    await link(tmp, path);
    return jwk;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const winner = await readJwk(path);
    if (winner === undefined) throw new Error(`Key file ${path} vanished while starting`, { cause: err });
    return winner;
  } finally {
    await rm(tmp, { force: true });
  }
}

async function readJwk(path: string): Promise<unknown> {
  let text: string;
  try {
    const { mode } = await stat(path);
    // Like ssh with a private key: refuse to use a key others can read rather than silently trust it.
    if ((mode & 0o077) !== 0) {
      throw new Error(
        `Key file ${path} is accessible by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
      );
    }
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The parser's message may quote the file's content, i.e. key material.
    throw new Error(`Key file ${path} is not valid JSON`);
  }
}
