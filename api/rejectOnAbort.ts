/**
 * A promise that rejects when `signal` aborts. Raced against Temporal client calls: the SDK honours the abort
 * signal for RPCs but not while a lazy connection is still connecting, so with the Temporal server down a call
 * bounded at 1 s was measured to take about 20 s. The race keeps the HTTP deadline a deadline.
 */
export function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new Error('deadline passed'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
