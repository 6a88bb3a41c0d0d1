// Is this request a WebSocket opening handshake (RFC 6455 §4.1, §4.2.1) that
// Martello may tunnel? A pure check over the parsed request, so the proxy can
// decide before node:http hands the socket over ('upgrade' event, via the
// server's shouldUpgradeCallback) and again in the 'upgrade' listener.
//
// Three outcomes (security.md row "Upgrade: h2c / WebSocket with bad version"):
// - websocket: a well-formed handshake; tunnel it once the upstream says 101.
// - reject: the client asks for WebSocket but the handshake is malformed:
//   answer 400, or 426 with `Sec-WebSocket-Version: 13` for another version
//   (§4.4), and close. Never forwarded as a plain request: a backend would
//   see half a handshake.
// - not-websocket: no Upgrade at all, or another protocol (h2c, TLS/1.0...):
//   an ordinary request; Upgrade is hop-by-hop and is stripped on the way.

export type WebSocketUpgradeCheck =
  | { readonly ok: true; readonly kind: 'websocket' }
  | { readonly ok: false; readonly kind: 'reject'; readonly status: 400 | 426; readonly reason: string }
  | { readonly ok: false; readonly kind: 'not-websocket'; readonly reason: 'no-upgrade' | 'other-protocol' };

const WEBSOCKET: WebSocketUpgradeCheck = Object.freeze({ ok: true, kind: 'websocket' });
const NO_UPGRADE: WebSocketUpgradeCheck = Object.freeze({ ok: false, kind: 'not-websocket', reason: 'no-upgrade' });
const OTHER_PROTOCOL: WebSocketUpgradeCheck = Object.freeze({ ok: false, kind: 'not-websocket', reason: 'other-protocol' });

function reject(status: 400 | 426, reason: string): WebSocketUpgradeCheck {
  return { ok: false, kind: 'reject', status, reason };
}

/** The headers to add to a 426 answer (RFC 6455 §4.4): the one version Martello speaks. */
export const SUPPORTED_VERSION_HEADERS: readonly string[] = Object.freeze(['Sec-WebSocket-Version', '13']);

/** 16 bytes in base64 are 22 significant characters and "==" (what the ws library accepts too). */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** Trims optional whitespace (SP, HTAB) as HTTP field values allow. */
function trimOws(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** Comma-separated list elements, trimmed, empty elements dropped (RFC 9110 §5.6.1). */
function listElements(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = trimOws(part);
    if (t !== '') out.push(t);
  }
  return out;
}

/**
 * Classifies a request that may ask for a protocol upgrade.
 * `rawHeaders` is node:http's flat [name, value, ...] list (duplicates kept,
 * so they can be refused); `httpVersion` is "1.1", "1.0"...
 */
export function checkWebSocketUpgrade(rawHeaders: readonly string[], method: string, httpVersion: string): WebSocketUpgradeCheck {
  const upgrade: string[] = [];
  let connectionUpgrade = false;
  let versions = 0;
  let version = '';
  let keys = 0;
  let key = '';
  let body = false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    switch (name) {
      case 'upgrade':
        for (const t of listElements(value)) upgrade.push(t);
        break;
      case 'connection':
        for (const t of listElements(value)) if (t.toLowerCase() === 'upgrade') connectionUpgrade = true;
        break;
      case 'sec-websocket-version':
        versions++;
        version = trimOws(value);
        break;
      case 'sec-websocket-key':
        keys++;
        key = trimOws(value);
        break;
      case 'content-length':
        if (trimOws(value) !== '0') body = true;
        break;
      case 'transfer-encoding':
        body = true;
        break;
    }
  }
  if (upgrade.length === 0) return NO_UPGRADE;
  let websocket = false;
  for (const t of upgrade) if (t.toLowerCase() === 'websocket') websocket = true;
  if (!websocket) return OTHER_PROTOCOL;

  // From here the client asked for WebSocket: anything off is refused, never
  // downgraded to a plain request.
  if (upgrade.length !== 1) return reject(400, 'upgrade-not-only-websocket');
  if (method !== 'GET') return reject(400, 'method-not-get');
  if (httpVersion !== '1.1') return reject(400, 'http-version-not-1.1');
  if (!connectionUpgrade) return reject(400, 'connection-without-upgrade');
  if (body) return reject(400, 'request-body');
  if (versions === 0) return reject(400, 'missing-version');
  if (versions > 1) return reject(400, 'duplicate-version');
  if (version !== '13') return reject(426, 'unsupported-version');
  if (keys !== 1) return reject(400, keys === 0 ? 'missing-key' : 'duplicate-key');
  if (!KEY.test(key)) return reject(400, 'invalid-key');
  return WEBSOCKET;
}
