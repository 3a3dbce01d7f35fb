import { randomBytes, randomUUID, webcrypto } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
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
import { createPrivateFileOnce, readPrivateFile, replacePrivateFile } from '../../lib/secrets/privateFile';

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
 * by the token's `kid` among the current and previous keys, so tokens minted before a rotation stay valid
 * until the previous keys are retired.
 */
export interface KeyRing {
  readonly current: { readonly signing: SigningKey; readonly encryption: EncryptionKey };
  signingKey(kid: string): SigningKey | undefined;
  encryptionKey(kid: string): EncryptionKey | undefined;
  /** Every live public signing key (current first), as a JWK Set. */
  readonly jwks: { readonly keys: readonly Readonly<JWK>[] };
}

/** The whole ring in one file, so a rotation replaces it in one rename(2) and no reader sees half of one. */
const KEYRING_FILE = 'keyring.json';

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

/** `keyring.json`: the first key of each list is the current one, the others are previous keys. */
const keyRingFileSchema = z.object({
  version: z.literal(1),
  /** When the current keys became current; `rotate-keys --retire` warns when that is under a day ago. */
  rotatedAt: z.iso.datetime().optional(),
  signing: z.array(signingJwkSchema).min(1),
  encryption: z.array(encryptionJwkSchema).min(1),
});
export type KeyRingFile = z.infer<typeof keyRingFileSchema>;

/**
 * Loads the key ring from `dir`, generating it on first start. The file has mode 0600 in a 0700 folder and is
 * published atomically, so that processes starting together agree on one ring.
 */
export async function loadOrCreateKeys(dir: string): Promise<KeyRing> {
  return importKeyRing(await loadOrCreateKeyRingFile(dir), keyRingPath(dir));
}

/**
 * The key ring SAS serves with. `create` (the single-box default) makes one on first start; without it (every
 * instance of a deployment reading one shared folder, NODE_ENV=production) SAS only reads the folder, and a
 * missing ring stops the start: `npm run rotate-keys` creates it, once, for all of them.
 */
export async function loadKeys(dir: string, { create }: { create: boolean }): Promise<KeyRing> {
  if (create) return loadOrCreateKeys(dir);
  const file = await readKeyRingFile(dir);
  if (file === undefined) {
    throw new Error(
      `No SAS key ring in ${dir} (SAS_KEYS_DIR). With NODE_ENV=production SAS does not generate one: run ` +
        '`npm run rotate-keys` with the same SAS_KEYS_DIR to create it, then start every SAS on that folder.',
    );
  }
  return importKeyRing(file, keyRingPath(dir));
}

export const keyRingPath = (dir: string) => join(dir, KEYRING_FILE);

/** Builds a usable ring from the file's JWKs, checking each kid. */
export async function importKeyRing(file: KeyRingFile, path: string): Promise<KeyRing> {
  const signing = await Promise.all(file.signing.map((jwk) => importSigningKey(jwk, path)));
  const encryption = await Promise.all(file.encryption.map(importEncryptionKey));
  const [currentSigning, ...previousSigning] = signing;
  const [currentEncryption, ...previousEncryption] = encryption;
  // The schema requires one of each; this narrows the types.
  if (!currentSigning || !currentEncryption) throw new Error(`Key ring ${path} has no current key`);
  return keyRing([currentSigning, ...previousSigning], [currentEncryption, ...previousEncryption]);
}

/** Reads and checks `keyring.json`; undefined when there is none yet. */
export async function readKeyRingFile(dir: string): Promise<KeyRingFile | undefined> {
  const path = keyRingPath(dir);
  const value = await readJsonFile(path);
  return value === undefined ? undefined : parseKeyFile(keyRingFileSchema, value, path);
}

/** Replaces `keyring.json` atomically (write a private temporary file, then rename over the old ring). */
export async function writeKeyRingFile(dir: string, file: KeyRingFile): Promise<void> {
  await replacePrivateFile(keyRingPath(dir), serialize(keyRingFileSchema.parse(file)));
}

/** A ring of one fresh signing key and one fresh encryption key. */
export async function newKeyRingFile(now = new Date()): Promise<KeyRingFile> {
  return {
    version: 1,
    rotatedAt: now.toISOString(),
    signing: [signingJwkSchema.parse(await newSigningJwk())],
    encryption: [encryptionJwkSchema.parse(newEncryptionJwk())],
  };
}

async function loadOrCreateKeyRingFile(dir: string): Promise<KeyRingFile> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await readKeyRingFile(dir);
  if (existing !== undefined) return existing;
  const created = await publishOnce(keyRingPath(dir), await newKeyRingFile());
  return parseKeyFile(keyRingFileSchema, created, keyRingPath(dir));
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

const serialize = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

/**
 * Publishes `value` at `path` unless a file is already there; every process that starts at the same moment
 * ends up with the winner's content.
 */
async function publishOnce(path: string, value: unknown): Promise<unknown> {
  if (await createPrivateFileOnce(path, serialize(value))) return value;
  const winner = await readJsonFile(path);
  if (winner === undefined) throw new Error(`Key file ${path} vanished while starting`);
  return winner;
}

async function readJsonFile(path: string): Promise<unknown> {
  const text = await readPrivateFile(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The parser's message may quote the file's content, i.e. key material.
    throw new Error(`Key file ${path} is not valid JSON`);
  }
}
