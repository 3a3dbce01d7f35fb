import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, so the Temporal UI can filter issuances. Never a token, key or signal here:
 * search attributes are stored and shown in the clear.
 */
export const AccountSid = defineSearchAttributeKey('WebchatAccountSid', SearchAttributeType.KEYWORD);
export const Outcome = defineSearchAttributeKey('WebchatOutcome', SearchAttributeType.KEYWORD);
export const DenyReason = defineSearchAttributeKey('WebchatDenyReason', SearchAttributeType.KEYWORD);
export const Security = defineSearchAttributeKey('WebchatSecurity', SearchAttributeType.BOOL);

export const searchAttributeKeys = [AccountSid, Outcome, DenyReason, Security];

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
];
