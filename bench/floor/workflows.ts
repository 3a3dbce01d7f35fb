import { proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import * as sa from '../../domain/searchAttributes';
import type { ladderActivities } from './activities';

/** The floor's workflow: nothing to do, so a run costs exactly what Temporal needs to start and finish one. */
export async function EmptyWorkflow(): Promise<void> {}

/** What a rung of the ladder adds to the empty workflow (bench/floor/ladder.ts). */
export interface LadderShape {
  /** Rounds of no-op local activities, each the number of them run side by side. */
  rounds: number[];
  /** One search-attribute upsert when the run ends, as the product's runs do. */
  upsert: boolean;
}

const { noop } = proxyLocalActivities<typeof ladderActivities>({ startToCloseTimeout: '5s' });

/** A run of the product's shape with no product code: rounds of no-op local activities, an upsert at the end. */
export async function LadderWorkflow(shape: LadderShape): Promise<void> {
  for (const width of shape.rounds) {
    await Promise.all(Array.from({ length: width }, () => noop()));
  }
  if (shape.upsert) {
    upsertSearchAttributes([
      { key: sa.Outcome, value: 'issued' },
      { key: sa.AccountSid, value: 'AC00000000000000000000000000000001' },
      { key: sa.Security, value: false },
    ]);
  }
}
