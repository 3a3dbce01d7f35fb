import { MAX_SIGNAL_LENGTH } from './collectSignals';
import { FingerprintError, type FingerprintSignalName } from './fingerprintError';

/** Each signal's canonical value, or a FingerprintError naming the signal (never its value). */

const LANGUAGE_TAG = /^[a-z]{1,8}(?:-[a-z0-9]{1,8})*$/;

/** The widget's `language` when it sent one, else the first Accept-Language entry; lower-cased. */
export function primaryLanguage(settings: JsonObject | null, acceptLanguage: string | undefined): string {
  if (settings && Object.hasOwn(settings, 'language')) {
    const language = settings.language;
    if (typeof language !== 'string') throw new FingerprintError('userSettings.language', 'malformed');
    return languageTag(language, 'userSettings.language');
  }
  // Browsers list Accept-Language in order of preference; the first entry is the primary language.
  const first = text(acceptLanguage, 'acceptLanguage').split(',')[0] ?? '';
  return languageTag(first.split(';')[0] ?? '', 'acceptLanguage');
}

function languageTag(value: string, signal: FingerprintSignalName): string {
  const tag = value.trim().toLowerCase();
  if (tag.length > 64 || !LANGUAGE_TAG.test(tag)) throw new FingerprintError(signal, 'malformed');
  return tag;
}

const TIMEZONE_NAME = /^[A-Za-z0-9_+\-/:.]+(?: [A-Za-z0-9_+\-/:.]+)*$/;

/** An IANA name (`Europe/Berlin`) or an offset in minutes (`-60`), as the widget reports it. */
export function timezone(settings: JsonObject): string | number {
  if (!Object.hasOwn(settings, 'userTimezone'))
    throw new FingerprintError('userSettings.userTimezone', 'missing');
  const tz = settings.userTimezone;
  if (typeof tz === 'string' && tz.length <= 64 && TIMEZONE_NAME.test(tz)) return tz;
  if (typeof tz === 'number' && Number.isFinite(tz) && Math.abs(tz) <= 1440) return tz;
  throw new FingerprintError('userSettings.userTimezone', 'malformed');
}

export function cookieEnabled(settings: JsonObject): boolean {
  if (!Object.hasOwn(settings, 'cookieEnabled'))
    throw new FingerprintError('userSettings.cookieEnabled', 'missing');
  const value = settings.cookieEnabled;
  if (typeof value !== 'boolean') throw new FingerprintError('userSettings.cookieEnabled', 'malformed');
  return value;
}

/** Canonical JSON of `{audio, video}`; extra fields are ignored so the widget can add probes later. */
export function decoders(raw: string | undefined): string {
  const parsed = jsonObject(raw, 'decoders');
  const part = (key: 'audio' | 'video'): string => {
    if (!Object.hasOwn(parsed, key)) throw new FingerprintError(`decoders.${key}`, 'missing');
    const canonical = canonicalJson(parsed[key], 0);
    if (canonical === null) throw new FingerprintError(`decoders.${key}`, 'malformed');
    return canonical;
  };
  return `{"audio":${part('audio')},"video":${part('video')}}`;
}

const MAX_JSON_DEPTH = 6;

/**
 * Deterministic JSON: object keys sorted by code unit, arrays kept in order (order is meaningful in JSON,
 * and the widget probes codecs in a fixed order). Built as a string straight from the parsed value's own
 * properties, so a `__proto__` key is just a key and nothing is ever assigned onto an object. Null when the
 * value is nested too deeply.
 */
function canonicalJson(value: unknown, depth: number): string | null {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (depth >= MAX_JSON_DEPTH) return null;
  const parts: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const c = canonicalJson(item, depth + 1);
      if (c === null) return null;
      parts.push(c);
    }
    return `[${parts.join(',')}]`;
  }
  const object = value as JsonObject;
  for (const key of Object.keys(object).sort()) {
    const c = canonicalJson(object[key], depth + 1);
    if (c === null) return null;
    parts.push(`${JSON.stringify(key)}:${c}`);
  }
  return `{${parts.join(',')}}`;
}

export type JsonObject = Readonly<Record<string, unknown>>;

export function isBlank(value: string | undefined): boolean {
  return value === undefined || value.trim() === '';
}

/** A present, non-blank signal within the size cap, without control characters. */
export function text(value: string | undefined, signal: FingerprintSignalName): string {
  if (value === undefined || value.trim() === '') throw new FingerprintError(signal, 'missing');
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (value.length > MAX_SIGNAL_LENGTH || /[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
    throw new FingerprintError(signal, 'malformed');
  }
  return value;
}

/**
 * A JSON header that must hold a plain object. The parse error is not kept as a cause: V8's SyntaxError
 * message quotes the input, and the input is a secret.
 */
export function jsonObject(raw: string | undefined, signal: 'userSettings' | 'decoders'): JsonObject {
  const source = text(raw, signal);
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    throw new FingerprintError(signal, 'malformed');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new FingerprintError(signal, 'malformed');
  }
  return parsed as JsonObject;
}
