import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { createPrivateFileOnce, readPrivateFile, replacePrivateFile } from './privateFile';

/**
 * AES-256 keys of the payload codec. Payloads are encrypted with `current` and record its id, so older keys
 * stay in the ring until no history that needs them is retained (the namespace's retention period).
 */
export interface CodecKeyRing {
  current: string;
  keys: Map<string, Buffer>;
}

/** Where the codec keys come from: `CODEC_KEYS` (JSON) wins, else the key file. */
export interface CodecKeysSource {
  value?: string | undefined;
  file: string;
  /** Create the file with one fresh key when it is missing (single box); false in production. */
  create?: boolean;
}

/** Where the development codec keys live unless CODEC_KEYS or CODEC_KEYS_FILE say otherwise. */
export const defaultCodecKeysFile = (dataDir: string) => join(dataDir, 'secrets', 'codec-keys.json');

const KEY_BYTES = 32;
const isKey = (k: string) =>
  /^[A-Za-z0-9_-]+$/.test(k) &&
  Buffer.from(k, 'base64url').toString('base64url') === k &&
  Buffer.from(k, 'base64url').length === KEY_BYTES;

const fileSchema = z.object({
  current: z.string().min(1),
  keys: z.record(
    z.string().min(1),
    z.string().refine(isKey, `each key must be ${KEY_BYTES} bytes of canonical base64url`),
  ),
});

type KeyFile = z.infer<typeof fileSchema>;

/** The ring in `text` (the key file's JSON), or an error naming `what`; never quoting the text. */
function parseRing(text: string, what: string): KeyFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${what} is not valid JSON`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${what}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  if (!Object.hasOwn(parsed.data.keys, parsed.data.current))
    throw new Error(`${what}: the current key is not in the ring`);
  return parsed.data;
}

function toRing(file: KeyFile): CodecKeyRing {
  return {
    current: file.current,
    keys: new Map(Object.entries(file.keys).map(([kid, k]) => [kid, Buffer.from(k, 'base64url')])),
  };
}

/** Parses `CODEC_KEYS` (the same JSON as the key file), for deployments that take keys from a secret store. */
export function parseCodecKeys(json: string): CodecKeyRing {
  return toRing(parseRing(json, 'CODEC_KEYS'));
}

/**
 * The codec key ring of a process: `CODEC_KEYS` wins, else the key file (mode 0600), else (outside production)
 * a file with one fresh key, created atomically so that processes starting together agree on it.
 */
export async function loadCodecKeys(source: CodecKeysSource): Promise<CodecKeyRing> {
  if (source.value !== undefined) return parseCodecKeys(source.value);
  const existing = await readRingFile(source.file);
  if (existing) return toRing(existing);
  if (source.create === false) {
    throw new Error(
      `CODEC_KEYS is not set and ${source.file} does not exist. With NODE_ENV=production no codec key is ` +
        'generated: give the API, every worker and the codec server the same CODEC_KEYS (JSON ' +
        '{"current": "<id>", "keys": {"<id>": "<base64url of 32 bytes>"}}), or a file holding it in CODEC_KEYS_FILE.',
    );
  }
  const kid = randomUUID();
  const created = await writeNew(source.file, {
    current: kid,
    keys: { [kid]: randomBytes(KEY_BYTES).toString('base64url') },
  });
  return toRing(created);
}

/** Adds a new current key; the previous ones stay for decoding. Returns the new key id. */
export async function rotateCodecKeys(path: string): Promise<string> {
  const file = (await readRingFile(path)) ?? { current: '', keys: {} };
  const kid = randomUUID();
  const next: KeyFile = {
    current: kid,
    keys: { ...file.keys, [kid]: randomBytes(KEY_BYTES).toString('base64url') },
  };
  await replacePrivateFile(path, serialize(next));
  return kid;
}

async function readRingFile(path: string): Promise<KeyFile | undefined> {
  const text = await readPrivateFile(path);
  return text === undefined ? undefined : parseRing(text, `codec key file ${path}`);
}

async function writeNew(path: string, file: KeyFile): Promise<KeyFile> {
  if (await createPrivateFileOnce(path, serialize(file))) return file;
  const theirs = await readRingFile(path);
  if (!theirs) throw new Error(`codec key file ${path} vanished while starting`);
  return theirs;
}

const serialize = (file: KeyFile) => JSON.stringify(file, null, 2) + '\n';
