/** What the shutdown says: a pino logger, or anything with the same two methods (the stack's console). */
export interface ShutdownLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ShutdownOptions {
  log: ShutdownLog;
  /**
   * How long `close` may take; past it the process exits 1 with what it could not finish. The default leaves
   * an HTTP service its drain (cut after 30 s, lib/http/serve.ts), then time to release what it holds.
   */
  timeoutMs?: number;
  /** Tests pass their own: a process exits, and hears its signals. */
  exit?: (code: number) => void;
  signals?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
}

const stopSignals = ['SIGTERM', 'SIGINT'] as const;

/**
 * How every process stops (each `main`, and `make start`'s stack): on the first SIGTERM or SIGINT, `close` runs
 * once (stop accepting, let what is in flight finish, release), then the process exits 0, or 1 when `close`
 * failed or did not finish within `timeoutMs`. A second signal during the drain is logged and changes nothing:
 * the drain is already bounded, and a terminal's Ctrl-C reaches every process of its group at once, so a process
 * may well get SIGINT from the terminal and SIGTERM from whatever started it (SIGKILL still ends it at once).
 * Returns a function that removes the handlers (tests).
 */
export function onShutdown(
  close: () => Promise<void>,
  { log, timeoutMs = 40_000, exit = (code) => process.exit(code), signals = process }: ShutdownOptions,
): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.info({ signal }, 'already shutting down');
      return;
    }
    stopping = true;
    log.info({ signal, timeoutMs }, 'shutting down');
    const cutOff = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown did not finish in time');
      exit(1);
    }, timeoutMs);
    close().then(
      () => {
        clearTimeout(cutOff);
        log.info({}, 'stopped');
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(cutOff);
        log.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  for (const signal of stopSignals) signals.on(signal, handler);
  return () => {
    for (const signal of stopSignals) signals.off(signal, handler);
  };
}
