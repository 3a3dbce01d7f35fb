import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { createPrivateFileOnce, replacePrivateFile } from '../privateFile';

/**
 * AES-256 keys of the payload codec. Payloads are encrypted with `current` and record its id, so older keys
 * stay in the ring until no history that needs them is retained (the namespace's retention period).
 */
export interface CodecKeyRing {
  current: string;
  keys: Map<string, Buffer>;
}

const fileSchema = z.object({
  current: z.string().min(1),
  keys: z.record(
    z.string().min(1),
    z
      .string()
      .refine((k) => Buffer.from(k, 'base64url').length === 32, 'each key must be 32 bytes, base64url'),
  ),
});

type KeyFile = z.infer<typeof fileSchema>;

function toRing(file: KeyFile): CodecKeyRing {
  if (!Object.hasOwn(file.keys, file.current))
    throw new Error('codec key ring: the current key is not in the ring');
  return {
    current: file.current,
    keys: new Map(Object.entries(file.keys).map(([kid, k]) => [kid, Buffer.from(k, 'base64url')])),
  };
}

/** Parses `CODEC_KEYS` (the same JSON as the key file), for deployments that take keys from a secret store. */
export function parseCodecKeys(json: string): CodecKeyRing {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('CODEC_KEYS is not valid JSON');
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`CODEC_KEYS: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return toRing(parsed.data);
}

/** Reads the key ring file, creating it with one fresh key (mode 0600) on first start. */
export async function loadOrCreateCodecKeys(path: string): Promise<CodecKeyRing> {
  const existing = await readRingFile(path);
  if (existing) return toRing(existing);
  const kid = randomUUID();
  const created = await writeNew(path, {
    current: kid,
    keys: { [kid]: randomBytes(32).toString('base64url') },
  });
  return toRing(created);
}

/** Adds a new current key; the previous ones stay for decoding. Returns the new key id. */
export async function rotateCodecKeys(path: string): Promise<string> {
  const file = (await readRingFile(path)) ?? { current: '', keys: {} };
  const kid = randomUUID();
  const next: KeyFile = {
    current: kid,
    keys: { ...file.keys, [kid]: randomBytes(32).toString('base64url') },
  };
  await replacePrivateFile(path, serialize(next));
  return kid;
}

async function readRingFile(path: string): Promise<KeyFile | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`codec key file ${path} is not valid JSON`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(`codec key file ${path}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

async function writeNew(path: string, file: KeyFile): Promise<KeyFile> {
  if (await createPrivateFileOnce(path, serialize(file))) return file;
  const theirs = await readRingFile(path);
  if (!theirs) throw new Error(`codec key file ${path} vanished while starting`);
  return theirs;
}

const serialize = (file: KeyFile) => JSON.stringify(file, null, 2) + '\n';
