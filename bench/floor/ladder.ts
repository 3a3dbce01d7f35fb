import type { LadderShape } from './workflows';

/**
 * The floor ladder: from the empty workflow, one Temporal feature the product uses added per rung, each rung on
 * top of the one before, in the same client+worker process on the same dev server. What each rung costs more
 * than the one below is what that feature costs on this machine.
 */
export interface Rung {
  name: string;
  /** Null: the empty workflow. */
  shape: LadderShape | null;
  /** `WebchatRequestId` set when the run starts, as the API does. */
  searchAttributeAtStart: boolean;
  /** Payloads through the product's encryption codec (lib/codec/). */
  codec: boolean;
  eager: boolean;
}

/**
 * The local-activity rounds of an issuance of `dk_demo_open` (domain/createWebchatToken.ts): the account read,
 * then the FAS call. A fingerprint-bound issuance has one more round (the fingerprint) between the two.
 */
const PRODUCT_ROUNDS = [1, 1];

const base = { searchAttributeAtStart: false, codec: false, eager: true };

export const rungs: readonly Rung[] = [
  { name: 'empty workflow', shape: null, ...base },
  { name: '+ search attribute at start', shape: null, ...base, searchAttributeAtStart: true },
  {
    name: '+ one no-op local activity',
    shape: { rounds: [1], upsert: false },
    ...base,
    searchAttributeAtStart: true,
  },
  {
    name: `+ product's rounds (${PRODUCT_ROUNDS.join(', ')})`,
    shape: { rounds: PRODUCT_ROUNDS, upsert: false },
    ...base,
    searchAttributeAtStart: true,
  },
  {
    name: '+ upsert at the end',
    shape: { rounds: PRODUCT_ROUNDS, upsert: true },
    ...base,
    searchAttributeAtStart: true,
  },
  {
    name: '+ the codec',
    shape: { rounds: PRODUCT_ROUNDS, upsert: true },
    ...base,
    searchAttributeAtStart: true,
    codec: true,
  },
  {
    name: '+ non-eager start',
    shape: { rounds: PRODUCT_ROUNDS, upsert: true },
    searchAttributeAtStart: true,
    codec: true,
    eager: false,
  },
];
