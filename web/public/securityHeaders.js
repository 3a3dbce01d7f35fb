/**
 * The three `x-twilio-sec-*` headers as the shipped widget computes them in the visitor's browser. The edge
 * turns them (with User-Agent and Accept-Language) into the fingerprint a bound token carries.
 */

/** A couple of common codecs, probed in a fixed order: the server hashes the result as sent. */
const audioProbes = {
  opus: { contentType: 'audio/webm; codecs="opus"', channels: '2', bitrate: 128000, samplerate: 48000 },
  aac: { contentType: 'audio/mp4; codecs="mp4a.40.2"', channels: '2', bitrate: 128000, samplerate: 44100 },
};
const videoProbes = {
  vp9: {
    contentType: 'video/webm; codecs="vp09.00.10.08"',
    width: 1280,
    height: 720,
    bitrate: 2e6,
    framerate: 30,
  },
  h264: {
    contentType: 'video/mp4; codecs="avc1.42E01E"',
    width: 1280,
    height: 720,
    bitrate: 2e6,
    framerate: 30,
  },
};

/**
 * @param {Record<string, object>} probes
 * @param {'audio' | 'video'} kind
 * @returns {Promise<Record<string, boolean>>} codec name to "can decode"; false where the API is missing
 */
async function probe(probes, kind) {
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, config]) => {
      try {
        const info = await navigator.mediaCapabilities.decodingInfo({ type: 'file', [kind]: config });
        return [name, info.supported === true];
      } catch {
        return [name, false];
      }
    }),
  );
  return Object.fromEntries(entries);
}

/**
 * @param {number} loginTimestamp when this chat session started (ms since the epoch); kept across refreshes
 * @returns {Promise<Record<string, string>>}
 */
export async function securityHeaders(loginTimestamp) {
  const [audio, video] = await Promise.all([probe(audioProbes, 'audio'), probe(videoProbes, 'video')]);
  return {
    'x-twilio-sec-usersettings': JSON.stringify({
      language: navigator.language,
      cookieEnabled: navigator.cookieEnabled,
      userTimezone: new Date().getTimezoneOffset(),
    }),
    'x-twilio-sec-decoders': JSON.stringify({ audio, video }),
    'x-twilio-sec-webchatinfo': JSON.stringify({ loginTimestamp }),
  };
}
