import { createHmac } from 'node:crypto';
import { fingerprintSensitivities, type FingerprintSensitivity, type FingerprintSignals } from './contracts';

/**
 * Fingerprints that bind a token to the visitor's browser (DESIGN section 6). Runs in activities, never in
 * the workflow sandbox (it uses node:crypto).
 *
 * The fingerprint is `v1.` + base64url(HMAC-SHA256(secret, canonical)), where `canonical` is the JSON of a
 * fixed-order list of `[name, value]` pairs starting with the version and the level. Any change to what goes
 * into `canonical` changes every fingerprint and so invalidates every bound token: bump FINGERPRINT_VERSION.
 */
export const FINGERPRINT_VERSION = 'v1';

/** Longest header value kept as a signal; longer ones are treated as malformed and dropped. */
export const MAX_SIGNAL_LENGTH = 4096;

/** HMAC-SHA256 keys shorter than its output weaken it (RFC 2104 section 3). */
export const MIN_SECRET_BYTES = 32;

/** The request headers each signal comes from, as Node spells them (lower case). */
export const signalHeaders = {
  userAgent: 'user-agent',
  acceptLanguage: 'accept-language',
  userSettings: 'x-twilio-sec-usersettings',
  decoders: 'x-twilio-sec-decoders',
  webchatInfo: 'x-twilio-sec-webchatinfo',
} as const;

/** Which signal (or which field of a JSON signal) made generation fail. */
export type FingerprintSignalName =
  | 'userAgent'
  | 'acceptLanguage'
  | 'clientIp'
  | 'userSettings'
  | 'userSettings.language'
  | 'userSettings.userTimezone'
  | 'userSettings.cookieEnabled'
  | 'decoders'
  | 'decoders.audio'
  | 'decoders.video';

export type FingerprintProblem = 'missing' | 'malformed';

/**
 * A signal the level needs is missing or malformed. `reason` (e.g. `userSettings.cookieEnabled missing`)
 * names the signal, never its value: signals are secrets, and the message may reach logs and the client.
 */
export class FingerprintError extends Error {
  override readonly name = 'FingerprintError';
  readonly code = 'fingerprint_generation_failed' as const;
  readonly reason: `${FingerprintSignalName} ${FingerprintProblem}`;

  constructor(
    readonly signal: FingerprintSignalName,
    readonly problem: FingerprintProblem,
  ) {
    const reason = `${signal} ${problem}` as const;
    super(`Fingerprint generation failed: ${reason}`);
    this.reason = reason;
  }
}

/**
 * Picks the fingerprint signals out of Node's request headers. An array value (a repeated header) yields its
 * first element; an empty value or one longer than MAX_SIGNAL_LENGTH is dropped, so that generation later
 * reports the signal as missing instead of hashing or echoing an oversized value.
 */
export function collectSignals(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  clientIp: string | undefined,
): FingerprintSignals {
  const signals: FingerprintSignals = {};
  for (const [name, header] of Object.entries(signalHeaders) as [keyof typeof signalHeaders, string][]) {
    const raw = Object.hasOwn(headers, header) ? headers[header] : undefined;
    const value = keep(Array.isArray(raw) ? raw[0] : raw);
    if (value !== undefined) signals[name] = value;
  }
  const ip = keep(clientIp);
  if (ip !== undefined) signals.clientIp = ip;
  return signals;
}

function keep(value: string | undefined): string | undefined {
  return value && value.length <= MAX_SIGNAL_LENGTH ? value : undefined;
}

/**
 * The fingerprint of `signals` at `level`:
 * - `low`: browser family and major version, platform (both from User-Agent), primary language;
 * - `medium`: low + time zone and cookieEnabled (x-twilio-sec-usersettings) + decoders (x-twilio-sec-decoders);
 * - `high`: medium + the full User-Agent + the client IP's /24 (IPv4) or /48 (IPv6) prefix.
 *
 * Throws FingerprintError when a signal the level needs is missing or malformed. Throws RangeError for a
 * server-side mistake (a secret shorter than MIN_SECRET_BYTES, an unknown level): those are not the
 * visitor's fault and must not turn into a 403.
 */
export function generateFingerprint(
  signals: FingerprintSignals,
  level: FingerprintSensitivity,
  secret: Uint8Array,
): { fingerprint: string; level: FingerprintSensitivity } {
  if (!fingerprintSensitivities.includes(level)) throw new RangeError('unknown fingerprint sensitivity');
  if (secret.byteLength < MIN_SECRET_BYTES) {
    throw new RangeError(`fingerprint secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  const canonical = JSON.stringify(canonicalPairs(signals, level));
  const mac = createHmac('sha256', secret).update(canonical, 'utf8').digest('base64url');
  return { fingerprint: `${FINGERPRINT_VERSION}.${mac}`, level };
}

type Pair = readonly [name: string, value: string | number | boolean | null];

function canonicalPairs(signals: FingerprintSignals, level: FingerprintSensitivity): Pair[] {
  const userAgent = text(signals.userAgent, 'userAgent');
  const browser = parseUserAgent(userAgent);
  // Low reads only `language` from the settings, and only when present; but a settings header that is
  // there and malformed still fails: the language would otherwise silently come from another source.
  const settings =
    level === 'low' && isBlank(signals.userSettings)
      ? null
      : jsonObject(signals.userSettings, 'userSettings');
  const pairs: Pair[] = [
    ['version', FINGERPRINT_VERSION],
    ['level', level],
    ['browser', browser.family],
    ['browserMajor', browser.major],
    ['platform', browser.platform],
    ['language', primaryLanguage(settings, signals.acceptLanguage)],
  ];
  if (level === 'low') return pairs;

  // `x-twilio-sec-webchatinfo` (`{loginTimestamp}`) is deliberately neither used nor validated: it changes
  // with every chat session, so it cannot be part of a fingerprint that must match across the session's
  // token refreshes, and rejecting a visitor over a header that cannot change the result would only turn a
  // widget bug into an outage.
  const s = settings ?? jsonObject(signals.userSettings, 'userSettings'); // parsed above unless `low`
  pairs.push(
    ['timezone', timezone(s)],
    ['cookieEnabled', cookieEnabled(s)],
    ['decoders', decoders(signals.decoders)],
  );
  if (level === 'medium') return pairs;

  pairs.push(['userAgent', userAgent], ['ipPrefix', ipPrefix(signals.clientIp)]);
  return pairs;
}

// ---------------------------------------------------------------------------------------------------------
// User-Agent

export type BrowserFamily = 'chrome' | 'edge' | 'firefox' | 'safari' | 'opera' | 'samsung' | 'other';
export type Platform = 'windows' | 'macos' | 'linux' | 'android' | 'ios' | 'chromeos' | 'other';

/**
 * Order matters: Chromium-based browsers also say `Chrome/`, and nearly everything says `Safari/`, so the
 * specific tokens are tried first. iOS browsers use their own tokens (`CriOS`, `FxiOS`, `EdgiOS`, `OPiOS`).
 */
const browserPatterns: readonly (readonly [BrowserFamily, RegExp])[] = [
  ['samsung', /\bSamsungBrowser\/(\d{1,6})\b/],
  ['opera', /\b(?:OPR|OPT|OPiOS)\/(\d{1,6})\b/],
  ['edge', /\b(?:Edg|EdgA|EdgiOS|Edge)\/(\d{1,6})\b/],
  ['firefox', /\b(?:Firefox|FxiOS)\/(\d{1,6})\b/],
  ['chrome', /\b(?:Chrome|Chromium|CriOS)\/(\d{1,6})\b/],
  ['safari', /\bVersion\/(\d{1,6})\b.*\bSafari\//],
];

/** iOS before macOS (iOS says "like Mac OS X"), Android and ChromeOS before Linux (both say "Linux"). */
const platformPatterns: readonly (readonly [Platform, RegExp])[] = [
  ['ios', /\b(?:iPhone|iPad|iPod)\b/],
  ['android', /\bAndroid\b/],
  ['chromeos', /\bCrOS\b/],
  ['windows', /\bWindows\b/],
  ['macos', /\b(?:Macintosh|Mac OS X)\b/],
  ['linux', /\b(?:Linux|X11)\b/],
];

/**
 * Browser family, major version and platform from a User-Agent string.
 *
 * An unrecognised browser (in-app web views, niche browsers, bots) is family `other` with major `null`
 * rather than a failure: failing would deny chat to real visitors whose browser we merely do not know. The
 * binding is coarser for them at `low` and `medium`; `high` still includes the full User-Agent.
 */
export function parseUserAgent(userAgent: string): {
  family: BrowserFamily;
  major: number | null;
  platform: Platform;
} {
  let family: BrowserFamily = 'other';
  let major: number | null = null;
  for (const [name, pattern] of browserPatterns) {
    const m = pattern.exec(userAgent);
    if (m?.[1] !== undefined) {
      family = name;
      major = Number(m[1]);
      break;
    }
  }
  const platform = platformPatterns.find(([, pattern]) => pattern.test(userAgent))?.[0] ?? 'other';
  return { family, major, platform };
}

// ---------------------------------------------------------------------------------------------------------
// Language, time zone, cookies, decoders

const LANGUAGE_TAG = /^[a-z]{1,8}(?:-[a-z0-9]{1,8})*$/;

/** The widget's `language` when it sent one, else the first Accept-Language entry; lower-cased. */
function primaryLanguage(settings: JsonObject | null, acceptLanguage: string | undefined): string {
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
function timezone(settings: JsonObject): string | number {
  if (!Object.hasOwn(settings, 'userTimezone'))
    throw new FingerprintError('userSettings.userTimezone', 'missing');
  const tz = settings.userTimezone;
  if (typeof tz === 'string' && tz.length <= 64 && TIMEZONE_NAME.test(tz)) return tz;
  if (typeof tz === 'number' && Number.isFinite(tz) && Math.abs(tz) <= 1440) return tz;
  throw new FingerprintError('userSettings.userTimezone', 'malformed');
}

function cookieEnabled(settings: JsonObject): boolean {
  if (!Object.hasOwn(settings, 'cookieEnabled'))
    throw new FingerprintError('userSettings.cookieEnabled', 'missing');
  const value = settings.cookieEnabled;
  if (typeof value !== 'boolean') throw new FingerprintError('userSettings.cookieEnabled', 'malformed');
  return value;
}

/** Canonical JSON of `{audio, video}`; extra fields are ignored so the widget can add probes later. */
function decoders(raw: string | undefined): string {
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

// ---------------------------------------------------------------------------------------------------------
// Client IP

/** `1.2.3.0/24` or `2001:db8:1::/48`; IPv4-mapped IPv6 (`::ffff:1.2.3.4`) counts as IPv4. */
function ipPrefix(raw: string | undefined): string {
  const ip = text(raw, 'clientIp').trim();
  const v4 = parseIpv4(ip);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.0/24`;
  const v6 = parseIpv6(ip);
  if (!v6) throw new FingerprintError('clientIp', 'malformed');
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    const [hi = 0, lo = 0] = v6.slice(6);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.0/24`;
  }
  return `${v6
    .slice(0, 3)
    .map((g) => g.toString(16))
    .join(':')}::/48`;
}

/** Strict dotted quad: four decimal octets, no leading zeros (which some parsers read as octal). */
function parseIpv4(ip: string): number[] | null {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p))) return null;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** Eight 16-bit groups, or null. Accepts `::` compression, a dotted-quad tail and a `%zone` suffix. */
function parseIpv6(ip: string): number[] | null {
  let address = ip.replace(/%[A-Za-z0-9._~-]+$/, '');
  const tail = /:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (tail?.[1] !== undefined) {
    const v4 = parseIpv4(tail[1]);
    if (!v4) return null;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    address = `${address.slice(0, -tail[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const parts = s.split(':');
    return parts.every((p) => /^[0-9a-fA-F]{1,4}$/.test(p)) ? parts.map((p) => parseInt(p, 16)) : null;
  };
  const head = groups(halves[0] ?? '');
  const rest = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !rest) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - rest.length;
  return missing >= 1 ? [...head, ...new Array<number>(missing).fill(0), ...rest] : null;
}

// ---------------------------------------------------------------------------------------------------------
// Raw values

type JsonObject = Readonly<Record<string, unknown>>;

function isBlank(value: string | undefined): boolean {
  return value === undefined || value.trim() === '';
}

/** A present, non-blank signal within the size cap, without control characters. */
function text(value: string | undefined, signal: FingerprintSignalName): string {
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
function jsonObject(raw: string | undefined, signal: 'userSettings' | 'decoders'): JsonObject {
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
