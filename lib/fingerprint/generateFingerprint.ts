import { createHmac } from 'node:crypto';
import {
  fingerprintSensitivities,
  type FingerprintSensitivity,
  type FingerprintSignals,
} from '../../domain/contracts';
import { ipPrefix } from './ipPrefix';
import {
  cookieEnabled,
  decoders,
  isBlank,
  jsonObject,
  primaryLanguage,
  text,
  timezone,
} from './signalValues';
import { MIN_SECRET_BYTES } from '../secrets/secret';
import { parseUserAgent } from './userAgent';

/**
 * Fingerprints that bind a token to the visitor's browser. Runs in activities, never in
 * the workflow sandbox (it uses node:crypto).
 *
 * The fingerprint is `v1.` + base64url(HMAC-SHA256(secret, canonical)), where `canonical` is the JSON of a
 * fixed-order list of `[name, value]` pairs starting with the version and the level. Any change to what goes
 * into `canonical` changes every fingerprint and so invalidates every bound token: bump FINGERPRINT_VERSION.
 */
export const FINGERPRINT_VERSION = 'v1';

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
