export { collectSignals, MAX_SIGNAL_LENGTH } from './collectSignals';
export { FingerprintError, type FingerprintProblem, type FingerprintSignalName } from './fingerprintError';
export { FINGERPRINT_VERSION, generateFingerprint } from './generateFingerprint';
export { parseUserAgent, type BrowserFamily, type Platform } from './userAgent';
