/** The ladder's local activity: it does nothing, so a round costs what the SDK and the server need for one. */
export const ladderActivities = {
  noop(): Promise<void> {
    return Promise.resolve();
  },
};
