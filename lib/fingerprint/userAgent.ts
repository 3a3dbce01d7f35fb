export type BrowserFamily = 'chrome' | 'edge' | 'firefox' | 'safari' | 'opera' | 'samsung' | 'other';
export type Platform = 'windows' | 'macos' | 'linux' | 'android' | 'ios' | 'chromeos' | 'other';

/**
 * Order matters: Chromium-based browsers also say `Chrome/`, and nearly everything says `Safari/`, so the
 * specific tokens are tried first. iOS browsers use their own tokens (`CriOS`, `FxiOS`, `EdgiOS`, `OPiOS`).
 */
const browserPatterns: readonly (readonly [BrowserFamily, RegExp])[] = [
  ['samsung', /\bSamsungBrowser\/(\d{1,6})\b/],
  ['opera', /\b(?:OPR|OPT|OPiOS)\/(\d{1,6})\b/],
  ['edge', /\b(?:Edg|EdgA|EdgiOS|Edge)\/(\d{1,6})\b/],
  ['firefox', /\b(?:Firefox|FxiOS)\/(\d{1,6})\b/],
  ['chrome', /\b(?:Chrome|Chromium|CriOS)\/(\d{1,6})\b/],
  ['safari', /\bVersion\/(\d{1,6})\b.*\bSafari\//],
];

/** iOS before macOS (iOS says "like Mac OS X"), Android and ChromeOS before Linux (both say "Linux"). */
const platformPatterns: readonly (readonly [Platform, RegExp])[] = [
  ['ios', /\b(?:iPhone|iPad|iPod)\b/],
  ['android', /\bAndroid\b/],
  ['chromeos', /\bCrOS\b/],
  ['windows', /\bWindows\b/],
  ['macos', /\b(?:Macintosh|Mac OS X)\b/],
  ['linux', /\b(?:Linux|X11)\b/],
];

/**
 * Browser family, major version and platform from a User-Agent string.
 *
 * An unrecognised browser (in-app web views, niche browsers, bots) is family `other` with major `null`
 * rather than a failure: failing would deny chat to real visitors whose browser we merely do not know. The
 * binding is coarser for them at `low` and `medium`; `high` still includes the full User-Agent.
 */
export function parseUserAgent(userAgent: string): {
  family: BrowserFamily;
  major: number | null;
  platform: Platform;
} {
  let family: BrowserFamily = 'other';
  let major: number | null = null;
  for (const [name, pattern] of browserPatterns) {
    const m = pattern.exec(userAgent);
    if (m?.[1] !== undefined) {
      family = name;
      major = Number(m[1]);
      break;
    }
  }
  const platform = platformPatterns.find(([, pattern]) => pattern.test(userAgent))?.[0] ?? 'other';
  return { family, major, platform };
}
