/** Request headers as the shipped widget sends them from a desktop Chrome. */
export function widgetHeaders(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    'user-agent':
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'accept-language': 'en-US,en;q=0.9',
    'x-twilio-sec-usersettings': JSON.stringify({
      language: 'en-US',
      cookieEnabled: true,
      userTimezone: -60,
    }),
    'x-twilio-sec-decoders': JSON.stringify({ audio: { opus: true }, video: { vp9: true, h264: true } }),
    'x-twilio-sec-webchatinfo': JSON.stringify({ loginTimestamp: 1764150000000 }),
    ...overrides,
  };
}

/** Another visitor's browser: Firefox on Linux in another timezone. */
export function otherBrowserHeaders(): Record<string, string> {
  return widgetHeaders({
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    'accept-language': 'de-DE,de;q=0.9',
    'x-twilio-sec-usersettings': JSON.stringify({
      language: 'de-DE',
      cookieEnabled: true,
      userTimezone: 120,
    }),
  });
}
