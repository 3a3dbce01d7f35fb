import { randomUUID } from 'node:crypto';

/** How one logical token request ended, after any retries the client made. */
export type Outcome = 'ok' | '4xx' | '503' | 'lost';

export interface RequestRecord {
  outcome: Outcome;
  /** From the first attempt to the final answer. */
  latencyMs: number;
  /** The slowest single HTTP exchange of this request. */
  slowestAttemptMs: number;
  attempts: number;
  /** Why a request was lost, or the 4xx code. */
  detail?: string;
}

export interface LoadOptions {
  /** The public token endpoint (through the edge). */
  url: string;
  requestsPerSecond: number;
  /** Each logical request must end within this, retries included; past it, it counts as hung (lost). */
  deadlineMs: number;
  /** A retry is only attempted while this much time is left: the longest a single exchange may take. */
  attemptBudgetMs: number;
  body: string;
  headers: Record<string, string>;
  /** True when SAS accepts the token. */
  validate(token: string): Promise<boolean>;
}

/**
 * Steady load the way a well-behaved widget would make it: each request carries its own `Idempotency-Key`,
 * and a 503 with `Retry-After` is retried with the same key after that many seconds while the deadline allows.
 * Every request is accounted for: a 200 whose token validates, a 4xx, a final 503, or lost (hang, 5xx other than
 * 503, 503 without Retry-After, a broken connection, or a token that does not validate).
 */
export function startLoad(opts: LoadOptions): { stop(): Promise<RequestRecord[]> } {
  const pending: Promise<RequestRecord>[] = [];
  const timer = setInterval(() => pending.push(oneRequest(opts)), 1000 / opts.requestsPerSecond);
  return {
    stop: () => {
      clearInterval(timer);
      return Promise.all(pending);
    },
  };
}

async function oneRequest(opts: LoadOptions): Promise<RequestRecord> {
  const key = randomUUID();
  const started = performance.now();
  const deadline = started + opts.deadlineMs;
  let attempts = 0;
  let slowestAttemptMs = 0;
  const done = (outcome: Outcome, detail?: string): RequestRecord => ({
    outcome,
    latencyMs: Math.round(performance.now() - started),
    slowestAttemptMs: Math.round(slowestAttemptMs),
    attempts,
    ...(detail === undefined ? {} : { detail }),
  });

  for (;;) {
    attempts++;
    const attemptStart = performance.now();
    let status: number;
    let retryAfter: string | null;
    let text: string;
    try {
      const res = await fetch(opts.url, {
        method: 'POST',
        headers: { ...opts.headers, 'idempotency-key': key },
        body: opts.body,
        signal: AbortSignal.timeout(Math.max(1, Math.ceil(deadline - performance.now()))),
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return done(
        'lost',
        e.name === 'TimeoutError' ? 'hung past the deadline' : `network: ${e.cause?.code ?? e.message}`,
      );
    } finally {
      slowestAttemptMs = Math.max(slowestAttemptMs, performance.now() - attemptStart);
    }

    if (status === 200) {
      const token = (parseJson(text) as { token?: unknown }).token;
      if (typeof token !== 'string') return done('lost', '200 without a token');
      return (await opts.validate(token).catch(() => false))
        ? done('ok')
        : done('lost', 'token does not validate');
    }
    if (status === 503) {
      const seconds = Number(retryAfter);
      if (!retryAfter || !Number.isFinite(seconds) || seconds < 0)
        return done('lost', '503 without Retry-After');
      if (deadline - performance.now() - seconds * 1000 < opts.attemptBudgetMs) return done('503');
      await new Promise((r) => setTimeout(r, seconds * 1000));
      continue;
    }
    if (status >= 400 && status < 500) {
      const code = (parseJson(text) as { code?: unknown }).code;
      return done('4xx', `${status} ${String(code)}`);
    }
    return done('lost', `HTTP ${status}`);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
