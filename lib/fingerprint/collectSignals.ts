import type { FingerprintSignals } from '../../domain/contracts';

/** Longest header value kept as a signal; longer ones are treated as malformed and dropped. */
export const MAX_SIGNAL_LENGTH = 4096;

/** The request headers each signal comes from, as Node spells them (lower case). */
export const signalHeaders = {
  userAgent: 'user-agent',
  acceptLanguage: 'accept-language',
  userSettings: 'x-twilio-sec-usersettings',
  decoders: 'x-twilio-sec-decoders',
  webchatInfo: 'x-twilio-sec-webchatinfo',
} as const;

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
