/** The floor's workflow: nothing to do, so a run costs exactly what Temporal needs to start and finish one. */
export async function EmptyWorkflow(): Promise<void> {}
