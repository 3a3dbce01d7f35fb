import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import type { FingerprintSensitivity, FingerprintSignals } from '../../domain/contracts';
import {
  collectSignals,
  FINGERPRINT_VERSION,
  FingerprintError,
  generateFingerprint,
  MAX_SIGNAL_LENGTH,
  parseUserAgent,
} from '../../lib/fingerprint';

const levels: readonly FingerprintSensitivity[] = ['low', 'medium', 'high'];
const secret = new Uint8Array(32).fill(7);
const otherSecret = new Uint8Array(32).fill(8);

const ua = {
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  chromeMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  chromeAndroid:
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  chromeIos:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
  chromeLinux:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  chromeOs:
    'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  firefoxWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  firefoxMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0',
  firefoxAndroid: 'Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0',
  firefoxIos:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15',
  safariMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  safariIpad:
    'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70',
  edgeMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70',
  edgeAndroid:
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.2903.87',
  edgeIos:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15',
  operaWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0',
  samsungAndroid:
    'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
  instagramIos:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 300.0.0.0',
  curl: 'curl/8.5.0',
};

/** A Chrome-on-Windows visitor with every signal present. */
const base: FingerprintSignals = {
  userAgent: ua.chromeWindows,
  acceptLanguage: 'en-US,en;q=0.9',
  clientIp: '203.0.113.7',
  userSettings: '{"language":"en-US","cookieEnabled":true,"userTimezone":"Europe/Berlin"}',
  decoders: '{"audio":{"opus":"probably","aac":"maybe"},"video":{"h264":"probably","vp9":""}}',
  webchatInfo: '{"loginTimestamp":1767225600000}',
};

const fp = (signals: FingerprintSignals, level: FingerprintSensitivity, key: Uint8Array = secret) =>
  generateFingerprint(signals, level, key).fingerprint;

const settings = (value: Record<string, unknown>) => JSON.stringify(value);
const baseSettings = { language: 'en-US', cookieEnabled: true, userTimezone: 'Europe/Berlin' };

void describe('generateFingerprint: output', () => {
  void it('is "v1." + 43 base64url characters (a 32-byte HMAC) and echoes the level', () => {
    assert.equal(FINGERPRINT_VERSION, 'v1');
    for (const level of levels) {
      const result = generateFingerprint(base, level, secret);
      assert.equal(result.level, level);
      assert.match(result.fingerprint, /^v1\.[A-Za-z0-9_-]{43}$/);
    }
  });

  // The canonical form is a contract: tokens issued before a change would all stop validating. If this test
  // has to change, bump FINGERPRINT_VERSION.
  void it('is HMAC-SHA256 over the documented canonical pairs', () => {
    const low = [
      ['version', 'v1'],
      ['level', 'low'],
      ['browser', 'chrome'],
      ['browserMajor', 131],
      ['platform', 'windows'],
      ['language', 'en-us'],
    ];
    const medium = [
      ...low.slice(2),
      ['timezone', 'Europe/Berlin'],
      ['cookieEnabled', true],
      ['decoders', '{"audio":{"aac":"maybe","opus":"probably"},"video":{"h264":"probably","vp9":""}}'],
    ];
    const high = [...medium, ['userAgent', ua.chromeWindows], ['ipPrefix', '203.0.113.0/24']];
    const expected = {
      low,
      medium: [['version', 'v1'], ['level', 'medium'], ...medium],
      high: [['version', 'v1'], ['level', 'high'], ...high],
    };
    for (const level of levels) {
      const mac = createHmac('sha256', secret).update(JSON.stringify(expected[level])).digest('base64url');
      assert.equal(fp(base, level), `v1.${mac}`, level);
    }
  });

  void it('is the same for the same signals and secret', () => {
    for (const level of levels) assert.equal(fp({ ...base }, level), fp(base, level));
  });

  void it('differs with another secret', () => {
    for (const level of levels) assert.notEqual(fp(base, level, otherSecret), fp(base, level));
  });

  void it('differs between levels for the same signals', () => {
    assert.equal(new Set(levels.map((level) => fp(base, level))).size, 3);
  });
});

void describe('generateFingerprint: which signals each level depends on', () => {
  const noLanguage = {
    ...base,
    userSettings: settings({ cookieEnabled: true, userTimezone: 'Europe/Berlin' }),
  };
  const cases: [
    name: string,
    before: FingerprintSignals,
    after: FingerprintSignals,
    changes: FingerprintSensitivity[],
  ][] = [
    [
      'browser major version',
      base,
      { ...base, userAgent: ua.chromeWindows.replace('Chrome/131', 'Chrome/132') },
      ['low', 'medium', 'high'],
    ],
    [
      'browser family (Chrome to Edge, same major)',
      base,
      { ...base, userAgent: ua.edgeWindows },
      ['low', 'medium', 'high'],
    ],
    ['platform (Windows to macOS)', base, { ...base, userAgent: ua.chromeMac }, ['low', 'medium', 'high']],
    [
      'User-Agent minor version only',
      base,
      { ...base, userAgent: ua.chromeWindows.replace('131.0.0.0', '131.0.6778.86') },
      ['high'],
    ],
    [
      'widget language',
      base,
      { ...base, userSettings: settings({ ...baseSettings, language: 'de-DE' }) },
      ['low', 'medium', 'high'],
    ],
    [
      'widget language case only',
      base,
      { ...base, userSettings: settings({ ...baseSettings, language: 'EN-us' }) },
      [],
    ],
    ['Accept-Language while the widget sent a language', base, { ...base, acceptLanguage: 'de-DE' }, []],
    [
      'Accept-Language primary tag without a widget language',
      noLanguage,
      { ...noLanguage, acceptLanguage: 'de-DE,en;q=0.5' },
      ['low', 'medium', 'high'],
    ],
    [
      'Accept-Language secondary tags only',
      noLanguage,
      { ...noLanguage, acceptLanguage: 'en-US,fr;q=0.3' },
      [],
    ],
    [
      'Accept-Language case and spacing only',
      noLanguage,
      { ...noLanguage, acceptLanguage: ' EN-us ;q=1, en' },
      [],
    ],
    [
      'time zone',
      base,
      { ...base, userSettings: settings({ ...baseSettings, userTimezone: 'America/New_York' }) },
      ['medium', 'high'],
    ],
    [
      'time zone as an offset number vs the same digits as a string',
      { ...base, userSettings: settings({ ...baseSettings, userTimezone: -60 }) },
      { ...base, userSettings: settings({ ...baseSettings, userTimezone: '-60' }) },
      ['medium', 'high'],
    ],
    [
      'cookieEnabled',
      base,
      { ...base, userSettings: settings({ ...baseSettings, cookieEnabled: false }) },
      ['medium', 'high'],
    ],
    [
      'settings key order, whitespace and unknown fields',
      base,
      {
        ...base,
        userSettings:
          '{ "userTimezone": "Europe/Berlin", "extra": [1], "cookieEnabled": true, "language": "en-US" }',
      },
      [],
    ],
    [
      'a decoder result',
      base,
      { ...base, decoders: base.decoders!.replace('"vp9":""', '"vp9":"maybe"') },
      ['medium', 'high'],
    ],
    [
      'decoder order (audio vs video swapped)',
      base,
      {
        ...base,
        decoders: '{"audio":{"h264":"probably","vp9":""},"video":{"opus":"probably","aac":"maybe"}}',
      },
      ['medium', 'high'],
    ],
    [
      'decoders key order, whitespace and unknown fields',
      base,
      {
        ...base,
        decoders:
          '{"video": {"vp9":"", "h264":"probably"}, "other": 1, "audio": {"aac":"maybe","opus":"probably"}}',
      },
      [],
    ],
    ['client IP in another /24', base, { ...base, clientIp: '203.0.114.7' }, ['high']],
    ['client IP in the same /24', base, { ...base, clientIp: '203.0.113.250' }, []],
    ['client IP as IPv4-mapped IPv6', base, { ...base, clientIp: '::ffff:203.0.113.9' }, []],
    ['client IP as IPv4-mapped IPv6 in hex', base, { ...base, clientIp: '::ffff:cb00:7109' }, []],
    [
      'IPv6 client in the same /48',
      { ...base, clientIp: '2001:db8:1::1' },
      { ...base, clientIp: '2001:0DB8:0001:ffff::2%eth0' },
      [],
    ],
    [
      'IPv6 client in another /48',
      { ...base, clientIp: '2001:db8:1::1' },
      { ...base, clientIp: '2001:db8:2::1' },
      ['high'],
    ],
    [
      'IPv6 client vs the IPv4 of its low bits',
      { ...base, clientIp: '2001:db8:1::cb00:7107' },
      base,
      ['high'],
    ],
    ['client IP removed', base, { ...base, clientIp: undefined }, ['high']],
    [
      'webchatInfo (per-session login time)',
      base,
      { ...base, webchatInfo: '{"loginTimestamp":1767312000000}' },
      [],
    ],
    ['webchatInfo removed or malformed', base, { ...base, webchatInfo: 'not json' }, []],
  ];

  for (const [name, before, after, changes] of cases) {
    for (const level of levels) {
      const changed = changes.includes(level);
      void it(`${name}: ${changed ? 'changes' : 'keeps'} the ${level} fingerprint`, () => {
        if (!changed || level !== 'high' || after.clientIp !== undefined) {
          const a = fp(before, level);
          const b = fp(after, level);
          if (changed) assert.notEqual(b, a);
          else assert.equal(b, a);
        } else {
          assert.throws(() => fp(after, level), FingerprintError);
        }
      });
    }
  }

  void it('property: any two IPv4 addresses in one /24 agree at high, addresses in different /24s do not', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(
        fc.tuple(octet, octet, octet),
        octet,
        octet,
        fc.tuple(octet, octet, octet),
        (net, a, b, other) => {
          const ip = (n: number[], h: number) => [...n, h].join('.');
          assert.equal(
            fp({ ...base, clientIp: ip(net, a) }, 'high'),
            fp({ ...base, clientIp: ip(net, b) }, 'high'),
          );
          assert.equal(
            fp({ ...base, clientIp: ip(net, a) }, 'high'),
            fp({ ...base, clientIp: `::ffff:${ip(net, b)}` }, 'high'),
          );
          fc.pre(other.join('.') !== net.join('.'));
          assert.notEqual(
            fp({ ...base, clientIp: ip(net, a) }, 'high'),
            fp({ ...base, clientIp: ip(other, a) }, 'high'),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  void it('property: Chrome minor, build and patch numbers never change the low or medium fingerprint', () => {
    const n = fc.integer({ min: 0, max: 99999 });
    fc.assert(
      fc.property(n, n, n, (minor, build, patch) => {
        const other = {
          ...base,
          userAgent: ua.chromeWindows.replace('131.0.0.0', `131.${minor}.${build}.${patch}`),
        };
        assert.equal(fp(other, 'low'), fp(base, 'low'));
        assert.equal(fp(other, 'medium'), fp(base, 'medium'));
      }),
      { numRuns: 300 },
    );
  });
});

void describe('generateFingerprint: failures', () => {
  const marker = 'SIGNAL-VALUE-MARKER';
  const without = (key: keyof FingerprintSignals): FingerprintSignals => {
    const copy = { ...base };
    delete copy[key];
    return copy;
  };
  const withSettings = (value: Record<string, unknown>) => ({ ...base, userSettings: settings(value) });
  const { cookieEnabled: _c, ...noCookie } = baseSettings;
  const { userTimezone: _t, ...noTimezone } = baseSettings;
  const { language: _l, ...noLanguageSettings } = baseSettings;
  const deep = (depth: number): unknown => (depth === 0 ? 'x' : [deep(depth - 1)]);

  /** [case, signals, lowest level that needs the signal, expected reason]. */
  const cases: [name: string, signals: FingerprintSignals, from: FingerprintSensitivity, reason: string][] = [
    ['no User-Agent', without('userAgent'), 'low', 'userAgent missing'],
    ['blank User-Agent', { ...base, userAgent: '   ' }, 'low', 'userAgent missing'],
    [
      'User-Agent with a control character',
      { ...base, userAgent: `${marker}\n${ua.chromeWindows}` },
      'low',
      'userAgent malformed',
    ],
    [
      'User-Agent over 4 KiB',
      { ...base, userAgent: ua.chromeWindows + marker.repeat(300) },
      'low',
      'userAgent malformed',
    ],
    [
      'no widget language and no Accept-Language',
      { ...without('acceptLanguage'), userSettings: settings(noLanguageSettings) },
      'low',
      'acceptLanguage missing',
    ],
    [
      'Accept-Language *',
      { ...base, userSettings: settings(noLanguageSettings), acceptLanguage: '*' },
      'low',
      'acceptLanguage malformed',
    ],
    [
      'Accept-Language garbage',
      { ...base, userSettings: settings(noLanguageSettings), acceptLanguage: `${marker}!` },
      'low',
      'acceptLanguage malformed',
    ],
    [
      'widget language not a string',
      withSettings({ ...baseSettings, language: 42 }),
      'low',
      'userSettings.language malformed',
    ],
    [
      'widget language not a tag',
      withSettings({ ...baseSettings, language: `${marker} !` }),
      'low',
      'userSettings.language malformed',
    ],
    [
      'settings not JSON',
      { ...base, userSettings: `{"language":"${marker}"` },
      'low',
      'userSettings malformed',
    ],
    ['settings a JSON array', { ...base, userSettings: `["${marker}"]` }, 'low', 'userSettings malformed'],
    ['settings JSON null', { ...base, userSettings: 'null' }, 'low', 'userSettings malformed'],
    ['settings a JSON string', { ...base, userSettings: `"${marker}"` }, 'low', 'userSettings malformed'],
    [
      'settings over 4 KiB',
      withSettings({ ...baseSettings, pad: marker.repeat(250) }),
      'low',
      'userSettings malformed',
    ],
    ['no settings', without('userSettings'), 'medium', 'userSettings missing'],
    ['no time zone', withSettings(noTimezone), 'medium', 'userSettings.userTimezone missing'],
    [
      'time zone an object',
      withSettings({ ...baseSettings, userTimezone: { marker } }),
      'medium',
      'userSettings.userTimezone malformed',
    ],
    [
      'time zone a boolean',
      withSettings({ ...baseSettings, userTimezone: true }),
      'medium',
      'userSettings.userTimezone malformed',
    ],
    [
      'time zone too long',
      withSettings({ ...baseSettings, userTimezone: marker.repeat(4) }),
      'medium',
      'userSettings.userTimezone malformed',
    ],
    [
      'time zone with odd characters',
      withSettings({ ...baseSettings, userTimezone: `${marker}<script>` }),
      'medium',
      'userSettings.userTimezone malformed',
    ],
    [
      'time zone offset out of range',
      withSettings({ ...baseSettings, userTimezone: 1e9 }),
      'medium',
      'userSettings.userTimezone malformed',
    ],
    ['no cookieEnabled', withSettings(noCookie), 'medium', 'userSettings.cookieEnabled missing'],
    [
      'cookieEnabled a string',
      withSettings({ ...baseSettings, cookieEnabled: 'true' }),
      'medium',
      'userSettings.cookieEnabled malformed',
    ],
    [
      'cookieEnabled only on a __proto__ key',
      { ...base, userSettings: '{"__proto__":{"cookieEnabled":true},"userTimezone":"UTC","language":"en"}' },
      'medium',
      'userSettings.cookieEnabled missing',
    ],
    ['no decoders', without('decoders'), 'medium', 'decoders missing'],
    ['decoders not JSON', { ...base, decoders: `${marker}{` }, 'medium', 'decoders malformed'],
    [
      'decoders a JSON array',
      { ...base, decoders: `[{"audio":"${marker}"}]` },
      'medium',
      'decoders malformed',
    ],
    [
      'decoders without video',
      { ...base, decoders: '{"audio":{"opus":"probably"}}' },
      'medium',
      'decoders.video missing',
    ],
    [
      'decoders without audio',
      { ...base, decoders: '{"video":{},"__proto__":{"audio":1}}' },
      'medium',
      'decoders.audio missing',
    ],
    [
      'decoders nested too deeply',
      { ...base, decoders: JSON.stringify({ audio: deep(20), video: {} }) },
      'medium',
      'decoders.audio malformed',
    ],
    ['no client IP', without('clientIp'), 'high', 'clientIp missing'],
    ...[
      '300.1.2.3',
      '1.2.3',
      '01.2.3.4',
      '1.2.3.4:5678',
      '[2001:db8::1]',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      'gggg::1',
      `${marker}`,
    ].map((ip): [string, FingerprintSignals, FingerprintSensitivity, string] => [
      `client IP ${ip}`,
      { ...base, clientIp: ip },
      'high',
      'clientIp malformed',
    ]),
  ];

  for (const [name, signals, from, reason] of cases) {
    for (const level of levels) {
      const needed = levels.indexOf(level) >= levels.indexOf(from);
      void it(`${name}: ${needed ? `fails at ${level} with "${reason}"` : `does not matter at ${level}`}`, () => {
        if (!needed) {
          assert.match(fp(signals, level), /^v1\./);
          return;
        }
        let caught: unknown;
        assert.throws(
          () => fp(signals, level),
          (err) => ((caught = err), err instanceof FingerprintError),
        );
        const err = caught as FingerprintError;
        assert.equal(err.code, 'fingerprint_generation_failed');
        assert.equal(err.reason, reason);
        assert.equal(`${err.signal} ${err.problem}`, reason);
        assert.equal(err.name, 'FingerprintError');
        assert.equal(err.message, `Fingerprint generation failed: ${reason}`);
        assert.equal(err.cause, undefined);
        // Nothing a signal carried may leak through the error, however it is printed.
        const printed = [String(err), err.stack ?? '', inspect(err, { depth: 5 }), JSON.stringify(err)].join(
          '\n',
        );
        assert.ok(!printed.includes(marker), 'marker leaked');
        for (const value of Object.values(signals)) {
          if (typeof value === 'string' && value.length > 8)
            assert.ok(!printed.includes(value), `value leaked: ${value}`);
        }
      });
    }
  }

  void it('reports the first problem in a fixed order: no settings and no Accept-Language', () => {
    const signals = { ...without('acceptLanguage'), userSettings: undefined };
    assert.throws(() => fp(signals, 'low'), {
      code: 'fingerprint_generation_failed',
      reason: 'acceptLanguage missing',
    });
    assert.throws(() => fp(signals, 'medium'), { reason: 'userSettings missing' });
  });

  void it('does not pollute Object.prototype from a __proto__ key', () => {
    fp(
      { ...base, userSettings: '{"__proto__":{"polluted":true},"cookieEnabled":true,"userTimezone":"UTC"}' },
      'high',
    );
    fp(
      {
        ...base,
        decoders: '{"__proto__":{"polluted":true},"audio":{"__proto__":{"polluted":1}},"video":[]}',
      },
      'high',
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  void it('treats a decoders __proto__ key as plain data, part of the fingerprint', () => {
    const a = fp({ ...base, decoders: '{"audio":{"__proto__":{"x":1}},"video":[]}' }, 'medium');
    const b = fp({ ...base, decoders: '{"audio":{"__proto__":{"x":2}},"video":[]}' }, 'medium');
    assert.notEqual(a, b);
  });

  void it('rejects a secret under 32 bytes as a server error, not a fingerprint failure', () => {
    assert.throws(
      () => generateFingerprint(base, 'low', new Uint8Array(31)),
      (err) => err instanceof RangeError && !(err instanceof FingerprintError),
    );
  });

  void it('rejects an unknown level as a server error', () => {
    assert.throws(() => generateFingerprint(base, 'off' as FingerprintSensitivity, secret), RangeError);
  });
});

void describe('parseUserAgent', () => {
  const table: [name: keyof typeof ua, family: string, major: number | null, platform: string][] = [
    ['chromeWindows', 'chrome', 131, 'windows'],
    ['chromeMac', 'chrome', 131, 'macos'],
    ['chromeAndroid', 'chrome', 131, 'android'],
    ['chromeIos', 'chrome', 131, 'ios'],
    ['chromeLinux', 'chrome', 131, 'linux'],
    ['chromeOs', 'chrome', 131, 'chromeos'],
    ['firefoxWindows', 'firefox', 133, 'windows'],
    ['firefoxMac', 'firefox', 133, 'macos'],
    ['firefoxAndroid', 'firefox', 133, 'android'],
    ['firefoxIos', 'firefox', 133, 'ios'],
    ['safariMac', 'safari', 18, 'macos'],
    ['safariIphone', 'safari', 18, 'ios'],
    ['safariIpad', 'safari', 17, 'ios'],
    ['edgeWindows', 'edge', 131, 'windows'],
    ['edgeMac', 'edge', 131, 'macos'],
    ['edgeAndroid', 'edge', 131, 'android'],
    ['edgeIos', 'edge', 131, 'ios'],
    ['operaWindows', 'opera', 115, 'windows'],
    ['samsungAndroid', 'samsung', 26, 'android'],
    ['instagramIos', 'other', null, 'ios'],
    ['curl', 'other', null, 'other'],
  ];
  for (const [name, family, major, platform] of table) {
    void it(`${name}: ${family} ${major ?? '-'} on ${platform}`, () => {
      assert.deepEqual(parseUserAgent(ua[name]), { family, major, platform });
    });
  }

  void it('fingerprints an unknown browser instead of failing', () => {
    assert.match(fp({ ...base, userAgent: ua.curl }, 'low'), /^v1\./);
    assert.notEqual(fp({ ...base, userAgent: ua.curl }, 'low'), fp(base, 'low'));
  });
});

void describe('collectSignals', () => {
  void it('reads the lower-case headers Node gives, the client IP, and nothing else', () => {
    const signals = collectSignals(
      {
        'user-agent': ua.firefoxMac,
        'accept-language': 'fr-FR',
        'x-twilio-sec-usersettings': '{"a":1}',
        'x-twilio-sec-decoders': '{"b":2}',
        'x-twilio-sec-webchatinfo': '{"c":3}',
        cookie: 'session=1',
        'x-forwarded-for': '198.51.100.1',
      },
      '198.51.100.2',
    );
    assert.deepEqual(signals, {
      userAgent: ua.firefoxMac,
      acceptLanguage: 'fr-FR',
      userSettings: '{"a":1}',
      decoders: '{"b":2}',
      webchatInfo: '{"c":3}',
      clientIp: '198.51.100.2',
    });
  });

  void it('takes the first value of a repeated header', () => {
    assert.deepEqual(collectSignals({ 'user-agent': ['first', 'second'] }, undefined), {
      userAgent: 'first',
    });
  });

  void it('omits absent, empty and oversized values instead of keeping them', () => {
    const signals = collectSignals(
      {
        'user-agent': 'x'.repeat(MAX_SIGNAL_LENGTH + 1),
        'accept-language': '',
        'x-twilio-sec-usersettings': 'y'.repeat(MAX_SIGNAL_LENGTH),
        'x-twilio-sec-decoders': [],
        'x-twilio-sec-webchatinfo': undefined,
      },
      '',
    );
    assert.deepEqual(signals, { userSettings: 'y'.repeat(MAX_SIGNAL_LENGTH) });
    assert.deepEqual(Object.keys(signals), ['userSettings']);
  });

  void it('drops an oversized client IP', () => {
    assert.deepEqual(collectSignals({}, '1'.repeat(MAX_SIGNAL_LENGTH + 1)), {});
  });

  void it('feeds generateFingerprint end to end', () => {
    const headers = {
      'user-agent': base.userAgent,
      'accept-language': base.acceptLanguage,
      'x-twilio-sec-usersettings': base.userSettings,
      'x-twilio-sec-decoders': base.decoders,
      'x-twilio-sec-webchatinfo': base.webchatInfo,
    };
    for (const level of levels)
      assert.equal(fp(collectSignals(headers, base.clientIp), level), fp(base, level));
  });
});
