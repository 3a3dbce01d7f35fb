import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { collectSignals, generateFingerprint } from '../../lib/fingerprint';
import { loadSecret } from '../../lib/secrets/secret';
import { postAsService, stackCredentials } from '../../scripts/stack/serviceAuthorization';
import { defaultPorts, freePorts, startStack, type Stack, type StackPorts } from '../../scripts/stack';

/**
 * The demo page (web/) in headless Chromium against the whole stack: CORS and fingerprint binding only mean
 * something in a browser. `dk_demo_secure` allows exactly `http://localhost:8081`, so the page is served on
 * that port (and on a free port for the origin no account allows); everything else runs on free ports.
 */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const allowedPort = 8081;
const screenshotDir = resolve(__dirname, '..', '..', 'test-results', 'browser');

/** Playwright starts the browser headless itself; these keep Chromium off a network it cannot reach. */
const chromiumArgs = [
  '--no-sandbox', // runs as root in CI
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const skip = whyNotRunnable();

describe('the demo widget in Chromium', { skip }, () => {
  let stack: Stack;
  let dataDir: string;
  let browser: Browser;
  const logs: string[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'webchat-browser-'));
    await mkdir(screenshotDir, { recursive: true });
    const keys = Object.keys(defaultPorts) as (keyof StackPorts)[];
    const free = await freePorts(keys.length);
    const ports = Object.fromEntries(keys.map((k, i) => [k, free[i]!])) as unknown as StackPorts;
    ports.web = allowedPort;
    stack = await startStack({ ports, dataDir, output: (name, line) => logs.push(`[${name}] ${line}`) });
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** One visitor's browser: its own storage, language and time zone. */
  const visitor = (locale: string, timezoneId: string) => browser.newContext({ locale, timezoneId });
  const firstVisitor = () => visitor('en-US', 'Europe/Berlin');

  /** A page of the widget that records every request it makes to the edge, and how each one ended. */
  const openWidget = async (context: BrowserContext, origin: string) => {
    const page = await context.newPage();
    const calls = edgeCalls(page, stack.urls.edge);
    await page.goto(origin);
    return { page, calls };
  };

  const startChat = async (page: Page, deploymentKey: string) => {
    await page.getByLabel('Deployment key').selectOption(deploymentKey);
    await page.getByRole('button', { name: 'Start a chat' }).click();
    return settled(page);
  };

  const screenshot = (page: Page, name: string) =>
    page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });

  /** Access-log lines of the API for one method and path: what the server answered, seen from its side. */
  const apiRequests = (method: string, path: string) =>
    logs
      .filter((l) => l.startsWith('[api] '))
      .map((l) => {
        try {
          return JSON.parse(l.slice('[api] '.length)) as Record<string, unknown>;
        } catch {
          return {};
        }
      })
      .filter((e) => e.msg === 'request' && e.method === method && e.path === path);

  /** POST /v2/Webchat/Token lines in the API's access log: what the server answered, seen from its side. */
  const apiTokenPosts = () =>
    logs
      .filter((l) => l.startsWith('[api] '))
      .map((l) => {
        try {
          return JSON.parse(l.slice('[api] '.length)) as Record<string, unknown>;
        } catch {
          return {};
        }
      })
      .filter((e) => e.msg === 'request' && e.method === 'POST' && e.path === '/v2/Webchat/Token');

  /** The widget's session as kept in the page origin's localStorage (read without running page code). */
  const storedSession = async (page: Page) => {
    const { origins } = await page.context().storageState();
    const origin = new URL(page.url()).origin;
    const raw = origins
      .find((o) => o.origin === origin)
      ?.localStorage.find((e) => e.name === 'webchat-demo.session')?.value;
    return raw === undefined
      ? null
      : (JSON.parse(raw) as { token: string; identity: string; expiration: string; deploymentKey: string });
  };

  /** The fingerprint the worker computes for a browser, from the headers that browser actually sent. */
  const fingerprintOf = async (headers: Record<string, string>) => {
    const secret = await loadSecret({ file: join(dataDir, 'secrets', 'fingerprint.key') });
    return generateFingerprint(collectSignals(headers, '127.0.0.1'), 'medium', secret).fingerprint;
  };

  const validate = (token: string, fingerprint: string) => validateWith({ token, fingerprint });

  const validateWith = async (request: Record<string, unknown>) => {
    // SAS is internal: validation goes to it directly, as FAS would.
    const url = `${stack.urls.sas}/v1/ScopedAuthTokens/validate`;
    const res = await postAsService(stackCredentials(dataDir, 'federated-auth', 'scoped-auth'), url, request);
    assert.equal(res.status, 200);
    return (await res.json()) as { authorized: boolean; message?: string; identity?: string };
  };

  // Shared by the binding and reload cases: the first visitor's page on the allowed origin.
  let allowed: { context: BrowserContext; page: Page; calls: EdgeCall[] };

  test('the allowed origin gets a bound token and the page shows the identity', async () => {
    const context = await firstVisitor();
    const { page, calls } = await openWidget(context, stack.urls.web!);
    allowed = { context, page, calls };
    assert.equal(stack.urls.web, 'http://localhost:8081');

    assert.equal(await startChat(page, 'dk_demo_secure'), 'ready');
    await screenshot(page, 'allowed-origin');

    const call = await postTo(calls, '/v2/Webchat/Token');
    assert.ok(call, 'the page posted to /v2/Webchat/Token');
    assert.equal(call.status, 200);
    assert.equal(call.headers.origin, 'http://localhost:8081');
    assert.equal(call.responseHeaders?.['access-control-allow-origin'], 'http://localhost:8081');
    // Sent as the shipped widget sends it: form-encoded, JSON in the three x-twilio-sec-* headers.
    assert.match(call.headers['content-type'] ?? '', /^application\/x-www-form-urlencoded/);
    assert.equal(call.postData, 'DeploymentKey=dk_demo_secure');
    assert.equal(call.headers.accept, 'application/json');
    // The shipped widget's own headers (generateHeaders.ts) and the demo's DPoP proof: none is CORS-safelisted,
    // so Chromium sent a preflight for them, which the API answered 204; a header it did not allow would have
    // blocked the POST.
    assert.deepEqual(ownHeaders(call.headers), [
      'dpop',
      'ui-version',
      'webchat-version',
      'x-twilio-sec-decoders',
      'x-twilio-sec-usersettings',
      'x-twilio-sec-webchatinfo',
    ]);
    const preflights = await eventually(() => apiRequests('OPTIONS', '/v2/Webchat/Token'));
    assert.ok(preflights.length > 0 && preflights.every((e) => e.status === 204), 'preflight answered 204');
    assert.deepEqual(JSON.parse(call.headers['x-twilio-sec-usersettings'] ?? 'null'), {
      language: 'en-US',
      cookieEnabled: true,
      userTimezone: await page.evaluate(() => new Date().getTimezoneOffset()),
    });
    const decoders = JSON.parse(call.headers['x-twilio-sec-decoders'] ?? 'null') as Record<string, unknown>;
    assert.deepEqual(Object.keys(decoders), ['audio', 'video']);
    assert.equal(
      typeof (
        JSON.parse(call.headers['x-twilio-sec-webchatinfo'] ?? '{}') as {
          loginTimestamp?: unknown;
        }
      ).loginTimestamp,
      'number',
    );

    const session = await storedSession(page);
    assert.ok(session, 'the session is kept in localStorage');
    assert.match(session.identity, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(session.deploymentKey, 'dk_demo_secure');
    assert.equal(await page.locator('#identity').textContent(), session.identity);
    assert.equal(await page.locator('#expiration').getAttribute('datetime'), session.expiration);
    assert.equal(await page.locator('#error').isHidden(), true);
  });

  test('the disallowed origin: the server answers, the browser blocks the reply, the page shows a CORS error', async () => {
    const context = await firstVisitor();
    try {
      const { page, calls } = await openWidget(context, stack.urls.webOther!);
      const consoleErrors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      const answeredBefore = apiTokenPosts().length;

      assert.equal(await startChat(page, 'dk_demo_secure'), 'error');
      await screenshot(page, 'disallowed-origin');

      assert.equal(await page.locator('#error-title').textContent(), 'Network or CORS error');
      const message = (await page.locator('#error-message').textContent()) ?? '';
      assert.match(message, /CORS/);
      assert.ok(message.includes(stack.urls.webOther!), `the message names the page's origin: ${message}`);
      assert.equal(await page.locator('#session').isHidden(), true);
      assert.equal(await storedSession(page), null);

      // The browser saw the POST fail.
      const call = await postTo(calls, '/v2/Webchat/Token');
      assert.ok(call, 'the page posted to /v2/Webchat/Token');
      assert.ok(call.failure, 'the request failed in the browser');
      assert.equal(call.status, undefined, 'no response reached the page');
      // Chromium's own verdict quotes the ACAO it received: the reply did arrive, and was refused.
      assert.ok(
        consoleErrors.some(
          (e) =>
            e.includes(`from origin '${stack.urls.webOther}' has been blocked by CORS policy`) &&
            e.includes("'http://localhost:8081,https://*.example.com'"),
        ),
        `Chromium reported the CORS refusal: ${JSON.stringify(consoleErrors)}`,
      );
      // And the API's access log shows the same request refused 403 (origin_not_allowed): nothing was minted.
      const answered = await eventually(() => apiTokenPosts().slice(answeredBefore));
      assert.deepEqual(
        answered.map((e) => e.status),
        [403],
      );
    } finally {
      await context.close();
    }
  });

  test('dk_demo_open works from the disallowed origin too', async () => {
    const context = await firstVisitor();
    try {
      const { page, calls } = await openWidget(context, stack.urls.webOther!);
      assert.equal(await startChat(page, 'dk_demo_open'), 'ready');
      await screenshot(page, 'open-key-other-origin');
      const call = await postTo(calls, '/v2/Webchat/Token');
      assert.equal(call?.status, 200);
      assert.equal(call?.responseHeaders?.['access-control-allow-origin'], '*');
      const session = await storedSession(page);
      assert.equal(session?.deploymentKey, 'dk_demo_open');
      assert.equal(await page.locator('#identity').textContent(), session?.identity);
    } finally {
      await context.close();
    }
  });

  test('an unknown deployment key: the edge refuses, and the page shows its code and message', async () => {
    const context = await firstVisitor();
    try {
      const { page } = await openWidget(context, stack.urls.web!);
      assert.equal(await startChat(page, 'dk_demo_unknown'), 'error');
      assert.equal(await page.locator('#error-title').textContent(), 'Request failed');
      assert.match(
        (await page.locator('#error-message').textContent()) ?? '',
        /^The edge answered 403 invalid_deployment_key: \S/,
      );
    } finally {
      await context.close();
    }
  });

  test("the browser's token validates against that browser's fingerprint and not another's", async () => {
    assert.ok(allowed, 'the allowed-origin case ran first');
    const first = await postTo(allowed.calls, '/v2/Webchat/Token');
    const firstSession = await storedSession(allowed.page);
    assert.ok(first && firstSession);

    // Another visitor: same browser build, another language and time zone.
    const context = await visitor('de-DE', 'America/New_York');
    try {
      const { page, calls } = await openWidget(context, stack.urls.web!);
      assert.equal(await startChat(page, 'dk_demo_secure'), 'ready');
      await screenshot(page, 'allowed-origin-other-visitor');
      const second = await postTo(calls, '/v2/Webchat/Token');
      const secondSession = await storedSession(page);
      assert.ok(second && secondSession);

      const firstFingerprint = await fingerprintOf(first.headers);
      const secondFingerprint = await fingerprintOf(second.headers);
      assert.notEqual(firstFingerprint, secondFingerprint);

      assert.deepEqual(
        {
          ...(await validate(firstSession.token, firstFingerprint)),
          expiration: undefined,
          grants: undefined,
        },
        {
          authorized: true,
          identity: firstSession.identity,
          auth_account: { account_sid: 'AC00000000000000000000000000000002' },
          expiration: undefined,
          grants: undefined,
        },
      );
      assert.deepEqual(await validate(firstSession.token, secondFingerprint), {
        authorized: false,
        message: 'fingerprint_validation_failed',
      });
      assert.equal((await validate(secondSession.token, secondFingerprint)).authorized, true);
      assert.deepEqual(await validate(secondSession.token, firstFingerprint), {
        authorized: false,
        message: 'fingerprint_validation_failed',
      });
    } finally {
      await context.close();
    }
  });

  test("a session copied into another visitor's browser is refused on resume", async () => {
    assert.ok(allowed, 'the allowed-origin case ran first');
    const stolen = await storedSession(allowed.page);
    assert.ok(stolen);
    // The first visitor's localStorage, copied as it is into a browser with another language and time zone.
    const context = await browser.newContext({
      locale: 'de-DE',
      timezoneId: 'America/New_York',
      storageState: {
        cookies: [],
        origins: [
          {
            origin: stack.urls.web!,
            localStorage: [{ name: 'webchat-demo.session', value: JSON.stringify(stolen) }],
          },
        ],
      },
    });
    try {
      const { page, calls } = await openWidget(context, stack.urls.web!);
      assert.equal(await settled(page), 'error');
      await screenshot(page, 'copied-session-other-visitor');
      const refresh = await postTo(calls, '/v2/Webchat/Tokens/Refresh');
      assert.equal(refresh?.status, 403);
      assert.equal(await page.locator('#widget').getAttribute('data-refresh'), 'refused');
      assert.equal(await page.locator('#error-title').textContent(), 'Session not resumed');
      assert.match(
        (await page.locator('#error-message').textContent()) ?? '',
        /^The edge answered 403 fingerprint_validation_failed: \S/,
      );
      assert.equal(await page.locator('#session').isHidden(), true);
      assert.equal(await storedSession(page), null, 'the refused session is dropped');
    } finally {
      await context.close();
    }
  });

  test('key binding (dk_demo_dpop): a key the page cannot export; reload and refresh with it; useless elsewhere', async () => {
    const context = await firstVisitor();
    const other = await firstVisitor();
    try {
      const { page, calls } = await openWidget(context, stack.urls.web!);
      assert.equal(await startChat(page, 'dk_demo_dpop'), 'ready');
      await screenshot(page, 'key-bound');
      const issued = await postTo(calls, '/v2/Webchat/Token');
      assert.equal(issued?.status, 200);
      assert.match(issued.headers.dpop ?? '', /^[\w-]+\.[\w-]+\.[\w-]+$/, 'the request carried a proof');
      const first = await storedSession(page);
      assert.ok(first);

      // The private key lives in IndexedDB and WebCrypto refuses to export it.
      // Browser code, as text: this file is typed for Node, not the DOM.
      const probe = () =>
        page.evaluate<{ exported: string; extractable: boolean; pub: unknown }>(`(async () => {
          const { keyPair } = await import('/dpopKey.js');
          const pair = await keyPair();
          const exported = await crypto.subtle.exportKey('jwk', pair.privateKey).then(() => 'exported', (err) => err.name);
          return { exported, extractable: pair.privateKey.extractable, pub: await crypto.subtle.exportKey('jwk', pair.publicKey) };
        })()`);
      const before = await probe();
      assert.deepEqual([before.exported, before.extractable], ['InvalidAccessError', false]);

      // A reload finds the same key and refreshes with it.
      await page.reload();
      assert.equal(await settled(page), 'ready');
      assert.equal(await page.locator('#widget').getAttribute('data-refresh'), 'refreshed');
      const refresh = await postTo(calls, '/v2/Webchat/Tokens/Refresh');
      assert.equal(refresh?.status, 200);
      const after = await storedSession(page);
      assert.ok(after);
      assert.equal(after.identity, first.identity);
      assert.notEqual(after.token, first.token);
      assert.deepEqual((await probe()).pub, before.pub, 'the same key after the reload');

      // A chat backend receives the token with a proof and asks SAS: the page's key passes, another does not.
      const chatApi = 'https://chat.example.com/v1/messages';
      const proofFrom = (p: Page) =>
        p.evaluate<string>(`(async () => {
          const { dpopProof } = await import('/dpopKey.js');
          return dpopProof({ method: 'POST', url: ${JSON.stringify(chatApi)}, accessToken: ${JSON.stringify(after.token)} });
        })()`);
      const otherPage = (await openWidget(other, stack.urls.web!)).page;
      const atSas = async (proof: string) =>
        validateWith({ token: after.token, dpop: { proof, method: 'POST', url: chatApi } });
      assert.equal((await atSas(await proofFrom(page))).authorized, true);
      assert.deepEqual(await atSas(await proofFrom(otherPage)), {
        authorized: false,
        message: 'invalid_dpop_proof',
      });

      // The session copied into another browser: its own key signs, so the refresh is refused.
      await otherPage.evaluate(
        `localStorage.setItem('webchat-demo.session', ${JSON.stringify(JSON.stringify(after))})`,
      );
      const otherCalls = edgeCalls(otherPage, stack.urls.edge);
      await otherPage.reload();
      assert.equal(await settled(otherPage), 'error');
      assert.equal((await postTo(otherCalls, '/v2/Webchat/Tokens/Refresh'))?.status, 403);
      assert.match(
        (await otherPage.locator('#error-message').textContent()) ?? '',
        /^The edge answered 403 invalid_dpop_proof: \S/,
      );
      await screenshot(otherPage, 'key-bound-copied-session');
    } finally {
      await context.close();
      await other.close();
    }
  });

  test('a reload resumes the session and refreshes its token', async () => {
    assert.ok(allowed, 'the allowed-origin case ran first');
    const { page, calls } = allowed;
    const before = await storedSession(page);
    assert.ok(before);
    const callsBefore = calls.length;

    await page.reload();
    assert.equal(await settled(page), 'ready');
    await screenshot(page, 'allowed-origin-reloaded');

    const after = await storedSession(page);
    assert.ok(after);
    assert.equal(await page.locator('#identity').textContent(), before.identity);
    assert.equal(after.identity, before.identity);
    const during = calls.slice(callsBefore).filter((c) => c.method === 'POST');
    assert.ok(
      !during.some((c) => c.path === '/v2/Webchat/Token'),
      'no new chat session: the reload did not ask for a new token',
    );

    assert.equal(await page.locator('#widget').getAttribute('data-refresh'), 'refreshed');
    // The shipped widget's refresh path, its headers and form body, preflight included: a readable answer.
    const refresh = await postTo(during, '/v2/Webchat/Tokens/Refresh');
    assert.equal(refresh?.status, 200);
    assert.equal(refresh.responseHeaders?.['access-control-allow-origin'], 'http://localhost:8081');
    assert.deepEqual(
      ownHeaders(refresh.headers),
      ownHeaders((await postTo(calls, '/v2/Webchat/Token'))!.headers),
    );
    const refreshPreflights = await eventually(() => apiRequests('OPTIONS', '/v2/Webchat/Tokens/Refresh'));
    assert.ok(
      refreshPreflights.length > 0 && refreshPreflights.every((e) => e.status === 204),
      'refresh preflight answered 204',
    );
    assert.equal(
      refresh.postData,
      new URLSearchParams({ DeploymentKey: 'dk_demo_secure', Token: before.token }).toString(),
    );
    assert.notEqual(after.token, before.token);
    assert.ok(Date.parse(after.expiration) >= Date.parse(before.expiration));
    assert.equal(await page.locator('#expiration').getAttribute('datetime'), after.expiration);
    await allowed.context.close();
  });
});

interface EdgeCall {
  /** Settles once the headers read so far are in (they arrive asynchronously). */
  done: Promise<void>;
  method: string;
  path: string;
  /** Every header the browser sent, as it sent them. */
  headers: Record<string, string>;
  postData: string | null;
  status?: number;
  responseHeaders?: Record<string, string>;
  /** Set when the request failed in the browser (a network error, or a blocked CORS reply). */
  failure?: string;
}

/** The first POST to `path`, once its headers are in. */
async function postTo(calls: EdgeCall[], path: string): Promise<EdgeCall | undefined> {
  const call = calls.find((c) => c.method === 'POST' && c.path === path);
  await call?.done;
  return call;
}

/** Records the page's requests to the edge; each entry is completed as its response or failure arrives. */
function edgeCalls(page: Page, edgeUrl: string): EdgeCall[] {
  const calls: EdgeCall[] = [];
  const byRequest = new Map<Request, EdgeCall>();
  const edgeOrigin = new URL(edgeUrl).origin;
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin !== edgeOrigin) return;
    const call: EdgeCall = {
      done: Promise.resolve(),
      method: request.method(),
      path: url.pathname,
      headers: {},
      postData: request.postData(),
    };
    calls.push(call);
    byRequest.set(request, call);
    call.done = request.allHeaders().then(
      (h) => void (call.headers = h),
      () => undefined, // the page closed first: nothing left to read
    );
  });
  page.on('response', (response) => {
    const call = byRequest.get(response.request());
    if (!call) return;
    call.status = response.status();
    const requestDone = call.done;
    call.done = Promise.all([
      requestDone,
      response.allHeaders().then(
        (h) => void (call.responseHeaders = h),
        () => undefined,
      ),
    ]).then(() => undefined);
  });
  page.on('requestfailed', (request) => {
    const call = byRequest.get(request);
    if (call) call.failure = request.failure()?.errorText ?? 'failed';
  });
  return calls;
}

/**
 * Waits until the widget is done (ready or error) and returns which. A locator, not a page function: the
 * page's CSP forbids eval, which Playwright would need for a predicate passed as text, and this project's
 * TypeScript has no DOM types for one passed as a function.
 */
async function settled(page: Page): Promise<string> {
  const widget = page.locator('#widget[data-state="ready"], #widget[data-state="error"]');
  await widget.waitFor({ timeout: 30_000 });
  return (await widget.getAttribute('data-state')) ?? '';
}

/** Until refresh exists, the edge forwards the path to an API that has no such route: 404. */
/**
 * The request headers a page set itself: everything but what Chromium adds (client hints, fetch metadata, ...)
 * and the CORS-safelisted `accept` and `content-type`. Sorted, so the set compares whole.
 */
function ownHeaders(headers: Record<string, string>): string[] {
  const browserSet =
    /^(accept|accept-encoding|accept-language|connection|content-length|content-type|host|origin|referer|user-agent|sec-.*)$/;
  return Object.keys(headers)
    .map((h) => h.toLowerCase())
    .filter((h) => !browserSet.test(h))
    .sort();
}

/** Polls `read` until it returns a non-empty list: log lines arrive through a pipe, a moment after the reply. */
async function eventually<T>(read: () => T[], timeoutMs = 10_000): Promise<T[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = read();
    if (found.length > 0 || Date.now() > until) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Why the browser tests cannot run here, or false when they can. Synchronous: `describe` needs it up front. */
function whyNotRunnable(): string | false {
  if (!existsSync(chromiumPath)) {
    return `Chromium is not installed at ${chromiumPath} (run scripts/install-chromium.sh, or set CHROMIUM_PATH)`;
  }
  // A child process, because the check must finish before `describe` decides whether to skip.
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `require('node:net').createServer().once('error', () => process.exit(3))
        .listen(${allowedPort}, '127.0.0.1', function () { this.close(() => process.exit(0)); });`,
    ],
    { timeout: 10_000 },
  );
  if (probe.status !== 0) {
    return (
      `port ${allowedPort} is busy (is \`make start\` running?): dk_demo_secure allows exactly ` +
      `http://localhost:${allowedPort}, so the page must be served there`
    );
  }
  return false;
}
