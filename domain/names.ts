/**
 * Names shared by the API, the workers and the workflows. Apart from domain/contracts.ts (which re-exports
 * them) so that workflow code can import them without loading the wire schemas (zod) into the sandbox.
 */
export const TASK_QUEUE = 'webchat-token';
export const CREATE_WORKFLOW_TYPE = 'CreateWebchatToken';
export const REFRESH_WORKFLOW_TYPE = 'RefreshWebchatToken';
export const WEBCHAT_SECURITY_FLAG = 'webchat-security';

export const fingerprintSensitivities = ['low', 'medium', 'high'] as const;
export type FingerprintSensitivity = (typeof fingerprintSensitivities)[number];

/**
 * An account's key binding (DPoP, RFC 9449): `off`, tokens are never bound to a key; `optional`, bound when the
 * request carries a valid proof; `required`, a token request without one is refused.
 */
export const keyBindings = ['off', 'optional', 'required'] as const;
export type KeyBinding = (typeof keyBindings)[number];
