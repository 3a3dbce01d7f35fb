import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { corsFor, isOriginPattern } from '../../domain/cors';

const allowed = [
  'https://shop.example.com',
  'https://*.example.org',
  'http://localhost:8081',
  'https://*.example.net:8443',
];
const joined = allowed.join(',');
const numRuns = 2_000;

void describe('corsFor', () => {
  void describe('empty allowed list', () => {
    for (const origin of ['https://anything.example', 'null', 'not an origin', '', null, undefined]) {
      void it(`answers * without Vary for Origin ${JSON.stringify(origin)}`, () => {
        assert.deepEqual(corsFor([], origin), { allowOrigin: '*', vary: false });
      });
    }
  });

  const cases: [name: string, origin: string | null | undefined, matches: boolean][] = [
    // exact entries
    ['exact origin', 'https://shop.example.com', true],
    ['exact origin on http with a port', 'http://localhost:8081', true],
    ['exact origin, other port', 'http://localhost:8082', false],
    ['exact origin, explicit port where the entry has none', 'https://shop.example.com:8443', false],
    ['exact origin, other scheme', 'http://shop.example.com', false],
    ['exact origin, https where the entry is http', 'https://localhost:8081', false],
    ['a subdomain of an exact entry', 'https://a.shop.example.com', false],
    ['the parent of an exact entry', 'https://example.com', false],
    // wildcard entries
    ['wildcard: one label', 'https://a.example.org', true],
    ['wildcard: several labels', 'https://a.b.c.example.org', true],
    ['wildcard: label with hyphen and digits', 'https://shop-2.example.org', true],
    ['wildcard: the bare domain itself', 'https://example.org', false],
    ['wildcard: other scheme', 'http://a.example.org', false],
    ['wildcard without port: request with a port', 'https://a.example.org:8443', false],
    ['wildcard with port: same port', 'https://a.example.net:8443', true],
    ['wildcard with port: no port', 'https://a.example.net', false],
    ['wildcard with port: other port', 'https://a.example.net:8444', false],
    // suffix and prefix bypasses
    ['bypass: hyphenated look-alike', 'https://evil-example.org', false],
    ['bypass: glued prefix', 'https://evilexample.org', false],
    ['bypass: base followed by another domain', 'https://example.org.evil.net', false],
    ['bypass: subdomain followed by another domain', 'https://a.example.org.evil.net', false],
    ['bypass: exact entry followed by another domain', 'https://shop.example.com.evil.net', false],
    ['bypass: exact entry as a userinfo', 'https://shop.example.com@evil.net', false],
    // not a well-formed serialized origin
    ['opaque origin null', 'null', false],
    ['no Origin (null)', null, false],
    ['no Origin (undefined)', undefined, false],
    ['empty Origin', '', false],
    ['trailing slash', 'https://shop.example.com/', false],
    ['path', 'https://shop.example.com/x', false],
    ['upper-case host', 'https://SHOP.example.com', false],
    ['upper-case host under a wildcard', 'https://A.example.org', false],
    ['upper-case scheme', 'HTTPS://shop.example.com', false],
    ['default port written out', 'https://shop.example.com:443', false],
    ['leading whitespace', ' https://shop.example.com', false],
    ['two origins in one header', 'https://shop.example.com https://a.example.org', false],
    ['no scheme', 'shop.example.com', false],
    ['empty label under a wildcard', 'https://.example.org', false],
    ['double dot under a wildcard', 'https://a..example.org', false],
    ['wildcard pattern sent as an Origin', 'https://*.example.org', false],
    ['trailing dot', 'https://a.example.org.', false],
    ['non-http scheme', 'wss://a.example.org', false],
  ];

  for (const [name, origin, matches] of cases) {
    void it(`${name}: ${JSON.stringify(origin)} ${matches ? 'is echoed' : 'gets the joined list'}, with Vary`, () => {
      const expected = matches && origin ? origin : joined;
      assert.deepEqual(corsFor(allowed, origin), { allowOrigin: expected, vary: true });
    });
  }

  void it('joins the entries in their stored order with a bare comma (the source design literal)', () => {
    assert.equal(
      corsFor(['https://b.example', 'https://a.example'], 'https://c.example').allowOrigin,
      'https://b.example,https://a.example',
    );
  });

  void it('never matches an entry that is not a valid pattern', () => {
    for (const entry of [
      'http://*.example.org',
      'https://*.org',
      'https://Shop.example.com',
      'https://shop.example.com/',
    ]) {
      const origin = entry.includes('*') ? entry.replace('*', 'a').toLowerCase() : 'https://shop.example.com';
      assert.deepEqual(corsFor([entry], origin), { allowOrigin: entry, vary: true }, entry);
    }
  });

  void it('echoes the origin when any one of several entries matches', () => {
    assert.equal(
      corsFor(['https://x.example', 'https://*.example.org'], 'https://a.example.org').allowOrigin,
      'https://a.example.org',
    );
  });
});

void describe('isOriginPattern', () => {
  const valid = [
    'https://shop.example.com',
    'http://localhost:8081',
    'http://127.0.0.1:3000',
    'http://[::1]:3000',
    'https://xn--bcher-kva.example',
    'https://*.example.com',
    'https://*.shop.example.com',
    'https://*.example.com:8443',
    'https://*.xn--bcher-kva.example',
  ];
  const invalid: [entry: string, why: string][] = [
    ['*', 'bare wildcard: an empty list already means any origin'],
    ['https://*', 'wildcard host'],
    ['https://*.com', 'single-label base (a whole TLD)'],
    ['https://*.localhost', 'single-label base'],
    ['http://*.example.com', 'wildcard over plaintext http'],
    ['https://*.*.example.com', 'two wildcards'],
    ['https://a*.example.com', 'partial-label wildcard'],
    ['https://*example.com', 'wildcard without a dot'],
    ['https://*.example.com/', 'trailing slash'],
    ['https://*.example.com.', 'trailing dot'],
    ['https://*.example.com:443', 'default port written out'],
    ['https://*.example.com:99999', 'port out of range'],
    ['https://*.Example.com', 'upper case'],
    ['https://*.1.2.3', 'IP base'],
    ['https://*.bücher.example', 'non-ASCII (write it as xn--)'],
    ['https://shop.example.com/', 'trailing slash'],
    ['https://shop.example.com/path', 'path'],
    ['https://shop.example.com?q=1', 'query'],
    ['https://shop.example.com#f', 'fragment'],
    ['https://user@shop.example.com', 'userinfo'],
    ['https://shop.example.com:443', 'default port written out'],
    ['https://Shop.example.com', 'upper case'],
    [' https://shop.example.com', 'leading whitespace'],
    ['https://shop.example.com ', 'trailing whitespace'],
    ['https://shop .example.com', 'inner whitespace'],
    ['shop.example.com', 'no scheme'],
    ['ftp://shop.example.com', 'not http(s)'],
    ['null', 'the opaque origin'],
    ['', 'empty'],
    ['https://a..example.com', 'empty label'],
    ['https://shop.example.com,https://a.example.com', 'a list in one entry'],
  ];

  for (const entry of valid) {
    void it(`accepts ${entry}`, () => assert.equal(isOriginPattern(entry), true));
  }
  for (const [entry, why] of invalid) {
    void it(`rejects ${JSON.stringify(entry)} (${why})`, () => assert.equal(isOriginPattern(entry), false));
  }
});

void describe('corsFor properties', () => {
  const label = fc.stringMatching(/^[a-z][a-z0-9]{0,5}(-[a-z0-9]{1,4})?$/);
  const domain = (minLabels: number) =>
    fc.array(label, { minLength: minLabels, maxLength: 4 }).map((l) => l.join('.'));
  const scheme = fc.constantFrom('https', 'http');
  const port = fc.option(
    fc.integer({ min: 1, max: 65535 }).filter((p) => p !== 80 && p !== 443),
    { nil: undefined },
  );
  const origin = (s: string, host: string, p: number | undefined) =>
    `${s}://${host}${p === undefined ? '' : `:${p}`}`;
  const anyOrigin = fc.tuple(scheme, domain(1), port).map(([s, h, p]) => origin(s, h, p));
  // Hosts that are or are not under `base`, with the near misses that naive matchers let through.
  const hostNear = (base: string) =>
    fc.oneof(
      domain(1),
      fc.constant(base),
      domain(1).map((p) => `${p}.${base}`),
      label.map((p) => `${p}${base}`),
      label.map((p) => `${p}-${base}`),
      domain(1).map((s) => `${base}.${s}`),
      domain(1).map((s) => `x.${base}.${s}`),
    );
  /** Never equal to a single origin, so an echo can be told apart from the joined value. */
  const sentinel = 'https://sentinel.invalid';

  void it('a wildcard matches exactly the https origins on its port whose host ends with "." + base', () => {
    fc.assert(
      fc.property(
        domain(2).chain((base) => fc.tuple(fc.constant(base), port, scheme, hostNear(base), port)),
        ([base, entryPort, s, host, requestPort]) => {
          const entry = origin('https', `*.${base}`, entryPort);
          const request = origin(s, host, requestPort);
          const expected = s === 'https' && requestPort === entryPort && host.endsWith(`.${base}`);
          const result = corsFor([entry, sentinel], request);
          assert.equal(result.allowOrigin === request, expected, `${entry} vs ${request}`);
          assert.equal(result.vary, true);
        },
      ),
      { numRuns },
    );
  });

  void it('an exact entry matches only itself', () => {
    fc.assert(
      fc.property(anyOrigin, anyOrigin, fc.boolean(), (entry, other, same) => {
        const request = same ? entry : other;
        const result = corsFor([entry, sentinel], request);
        assert.equal(result.allowOrigin === request, request === entry, `${entry} vs ${request}`);
      }),
      { numRuns },
    );
  });

  void it('suffix and prefix bypasses never match a wildcard or its bare domain', () => {
    const bypass = domain(2).chain((base) =>
      fc.tuple(
        fc.constant(base),
        fc.oneof(
          label.map((p) => `${p}${base}`),
          label.map((p) => `${p}-${base}`),
          domain(1).map((s) => `${base}.${s}`),
          fc.tuple(domain(1), domain(1)).map(([p, s]) => `${p}.${base}.${s}`),
          fc.tuple(domain(1), domain(1)).map(([p, s]) => `${p}.${base}${s}`),
          fc.constant(base),
        ),
        port,
      ),
    );
    fc.assert(
      fc.property(bypass, ([base, host, p]) => {
        const request = origin('https', host, p);
        fc.pre(request !== `https://www.${base}`);
        const list = [`https://*.${base}`, `https://www.${base}`];
        assert.deepEqual(corsFor(list, request), { allowOrigin: list.join(','), vary: true }, request);
      }),
      { numRuns },
    );
  });

  void it('a request origin that is not exactly a serialized origin never matches', () => {
    const mangled = fc.tuple(domain(2), label).chain(([base, sub]) => {
      const good = `https://${sub}.${base}`;
      return fc.tuple(
        fc.constant(base),
        fc.constantFrom(
          `${good}/`,
          `${good}:443`,
          good.toUpperCase(),
          `https://${sub.toUpperCase()}.${base}`,
          ` ${good}`,
          `${good} `,
          `${good}.`,
          `https://u@${sub}.${base}`,
          `${good}?x`,
          `${good}#x`,
        ),
      );
    });
    fc.assert(
      fc.property(mangled, ([base, request]) => {
        const result = corsFor([`https://*.${base}`, request], request);
        assert.notEqual(result.allowOrigin, request, request);
      }),
      { numRuns },
    );
  });

  void it('answers *, an echo of a matching request origin, or the joined list; Vary unless the list is empty', () => {
    const entry = fc.oneof(
      anyOrigin,
      fc.tuple(domain(2), port).map(([b, p]) => origin('https', `*.${b}`, p)),
      fc.string({ maxLength: 30 }).filter((s) => s !== '*'),
    );
    const request = fc.oneof(
      anyOrigin,
      fc.constantFrom(null, undefined, 'null', ''),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), request, (list, requestOrigin) => {
        const result = corsFor(list, requestOrigin);
        if (list.length === 0) {
          assert.deepEqual(result, { allowOrigin: '*', vary: false });
          return;
        }
        assert.equal(result.vary, true);
        if (result.allowOrigin === list.join(',')) return;
        // Otherwise it must be an echo, and only of an origin some valid entry covers.
        assert.equal(result.allowOrigin, requestOrigin);
        const o = requestOrigin as string;
        assert.equal(new URL(o).origin, o);
        const covered = list.some(
          (e) =>
            isOriginPattern(e) &&
            (e === o ||
              (e.startsWith('https://*.') &&
                o.startsWith('https://') &&
                new URL(o).hostname.endsWith(`.${new URL(e.replace('*', 'x')).hostname.slice(2)}`) &&
                new URL(o).port === new URL(e.replace('*', 'x')).port)),
        );
        assert.ok(covered, `${o} echoed for ${JSON.stringify(list)}`);
      }),
      { numRuns },
    );
  });

  void it('accepts every generated well-formed pattern and matches it against a fitting origin', () => {
    fc.assert(
      fc.property(domain(2), label, port, (base, sub, p) => {
        const entry = origin('https', `*.${base}`, p);
        assert.equal(isOriginPattern(entry), true, entry);
        assert.equal(
          corsFor([entry, sentinel], origin('https', `${sub}.${base}`, p)).allowOrigin,
          origin('https', `${sub}.${base}`, p),
        );
      }),
      { numRuns },
    );
  });
});
