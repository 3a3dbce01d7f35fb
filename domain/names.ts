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
