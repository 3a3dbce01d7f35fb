export { collectSignals, MAX_SIGNAL_LENGTH, signalHeaders } from './collectSignals';
export { FingerprintError, type FingerprintProblem, type FingerprintSignalName } from './fingerprintError';
export { FINGERPRINT_VERSION, generateFingerprint, MIN_SECRET_BYTES } from './generateFingerprint';
export { parseUserAgent, type BrowserFamily, type Platform } from './userAgent';
