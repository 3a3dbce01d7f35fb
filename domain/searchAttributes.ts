import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, so the Temporal UI can filter issuances. Never a token, key or signal here:
 * search attributes are stored and shown in the clear.
 */
export const AccountSid = defineSearchAttributeKey('WebchatAccountSid', SearchAttributeType.KEYWORD);
export const Outcome = defineSearchAttributeKey('WebchatOutcome', SearchAttributeType.KEYWORD);
export const DenyReason = defineSearchAttributeKey('WebchatDenyReason', SearchAttributeType.KEYWORD);
export const Security = defineSearchAttributeKey('WebchatSecurity', SearchAttributeType.BOOL);
/**
 * The request's `X-Request-Id` (the client's when well formed, else the edge's): a correlation id to find a
 * request's run by. Never the workflow id, so clients cannot pick or collide with workflow ids.
 */
export const RequestId = defineSearchAttributeKey('WebchatRequestId', SearchAttributeType.KEYWORD);

export const searchAttributeKeys = [AccountSid, Outcome, DenyReason, Security, RequestId];

/** `--search-attribute Name=Type` arguments for `temporal server start-dev`. */
export const devServerSearchAttributeArgs = [
  '--search-attribute',
  'WebchatAccountSid=Keyword',
  '--search-attribute',
  'WebchatOutcome=Keyword',
  '--search-attribute',
  'WebchatDenyReason=Keyword',
  '--search-attribute',
  'WebchatSecurity=Bool',
  '--search-attribute',
  'WebchatRequestId=Keyword',
];
