// An incremental, strict parser for the PROXY protocol header (HAProxy's
// "The PROXY protocol" versions 1 and 2, doc/proxy-protocol.txt) that a TCP
// load balancer writes before the first byte of the client's stream.
//
// Call `parseProxyHeader` with everything received so far. It answers
// 'incomplete' while every byte seen could still begin a valid header,
// 'error' as soon as one cannot (the caller closes the connection), and
// 'done' with the header's length once a whole header is there: the
// connection's own bytes start at `consumed`.
//
// Strict, as the specification asks of receivers: a listener configured for
// the PROXY protocol accepts nothing else (no guessing, no fallback to plain
// HTTP: that would let any client spoof its address), and anything that
// does not match exactly is an error.
//
// Version 1 ("PROXY TCP4 192.0.2.1 198.51.100.2 51234 443\r\n"):
//  - at most 107 bytes including CRLF; single spaces; CRLF only (a bare CR
//    or LF is an error); printable ASCII only;
//  - TCP4: dotted-quad addresses without leading zeros; TCP6: RFC 4291
//    text (returned in RFC 5952 form); the family must match the addresses;
//  - ports: decimal 0-65535 without leading zeros;
//  - "UNKNOWN": whatever follows up to CRLF is ignored; no addresses.
// Version 2 (12-byte signature, then version/command, family/transport and
// a 16-bit length; the header is 16 + length bytes):
//  - version must be 2, command LOCAL (0) or PROXY (1);
//  - the whole header is capped at PROXY_V2_MAX_LENGTH (4096) bytes;
//  - LOCAL (health checks): everything after the fixed part is skipped, no
//    addresses (the socket's own endpoints apply);
//  - PROXY with TCP over IPv4 (0x11) or IPv6 (0x21): addresses and ports;
//    with UNSPEC (0x00) or UNIX stream (0x31): accepted without addresses
//    (the specification's fallback); UDP (0x12, 0x22, 0x32) and every
//    unassigned family/transport byte are errors;
//  - the address block must fit in the length; after it, TLVs must tile the
//    rest exactly (type, 16-bit length, value); their contents are skipped,
//    except PP2_TYPE_CRC32C, which is checked when present. (With UNSPEC the
//    layout of the block is unknown, so it is skipped whole.)

import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './cidr.ts';

export const PROXY_V1_MAX_LENGTH = 107;
export const PROXY_V2_MAX_LENGTH = 4096;

export interface ProxyEndpoint {
  readonly address: string;
  readonly port: number;
}

export type ProxyHeaderResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'error'; readonly reason: string }
  | {
      readonly kind: 'done';
      /** Bytes of header: the proxied stream starts here. */
      readonly consumed: number;
      /** Absent for LOCAL, UNKNOWN and address-less families: use the socket's peer. */
      readonly source?: ProxyEndpoint;
      readonly destination?: ProxyEndpoint;
    };

const INCOMPLETE: ProxyHeaderResult = Object.freeze({ kind: 'incomplete' });
const error = (reason: string): ProxyHeaderResult => Object.freeze({ kind: 'error', reason });

const E_NOT_PROXY = error('not-proxy-protocol');
const E_V1_SIGNATURE = error('v1-bad-signature');
const E_V1_PROTOCOL = error('v1-bad-protocol');
const E_V1_TOO_LONG = error('v1-too-long');
const E_V1_CHAR = error('v1-invalid-character');
const E_V1_BARE_CR = error('v1-bare-cr');
const E_V1_BARE_LF = error('v1-bare-lf');
const E_V1_FIELDS = error('v1-bad-fields');
const E_V1_ADDRESS = error('v1-bad-address');
const E_V1_PORT = error('v1-bad-port');
const E_V2_SIGNATURE = error('v2-bad-signature');
const E_V2_VERSION = error('v2-bad-version');
const E_V2_COMMAND = error('v2-bad-command');
const E_V2_FAMILY = error('v2-bad-family');
const E_V2_UNSUPPORTED = error('v2-unsupported-transport');
const E_V2_TOO_LONG = error('v2-too-long');
const E_V2_SHORT = error('v2-address-too-short');
const E_V2_TLV = error('v2-bad-tlv');
const E_V2_CRC = error('v2-bad-crc32c');

const CR = 0x0d;
const LF = 0x0a;
const V1_PREFIX = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]; // "PROXY "
const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const V1_PROTOCOLS = ['TCP4 ', 'TCP6 ', 'UNKNOWN'];

/** Parses the PROXY protocol header at the start of `buf` (all bytes received so far). */
export function parseProxyHeader(buf: Uint8Array): ProxyHeaderResult {
  if (buf.length === 0) return INCOMPLETE;
  const first = buf[0];
  if (first === 0x50) return parseV1(buf);
  if (first === 0x0d) return parseV2(buf);
  return E_NOT_PROXY;
}

function parseV1(buf: Uint8Array): ProxyHeaderResult {
  const n = buf.length;
  for (let i = 0; i < V1_PREFIX.length && i < n; i++) {
    if (buf[i] !== V1_PREFIX[i]) return E_V1_SIGNATURE;
  }
  // The protocol word, checked as soon as its first bytes arrive.
  let matches = 0;
  for (const word of V1_PROTOCOLS) {
    let ok = true;
    for (let k = 0; k < word.length && 6 + k < n; k++) {
      if (buf[6 + k] !== word.charCodeAt(k)) {
        ok = false;
        break;
      }
    }
    if (ok) matches++;
  }
  if (matches === 0) return E_V1_PROTOCOL;
  // Find CRLF within the first 107 bytes (so CR at index 105 at the latest);
  // every byte before it printable.
  const limit = Math.min(n, PROXY_V1_MAX_LENGTH - 1);
  let cr = -1;
  for (let i = 6; i < limit; i++) {
    const b = buf[i]!;
    if (b === CR) {
      if (i + 1 >= n) return INCOMPLETE;
      if (buf[i + 1] !== LF) return E_V1_BARE_CR;
      cr = i;
      break;
    }
    if (b === LF) return E_V1_BARE_LF;
    if (b < 0x20 || b > 0x7e) return E_V1_CHAR;
  }
  if (cr < 0) return n >= PROXY_V1_MAX_LENGTH - 1 ? E_V1_TOO_LONG : INCOMPLETE;
  const consumed = cr + 2;
  const line = String.fromCharCode(...buf.subarray(6, cr));
  if (line === 'UNKNOWN' || line.startsWith('UNKNOWN ')) return { kind: 'done', consumed };
  const fields = line.split(' ');
  if (fields.length !== 5) return E_V1_FIELDS;
  const [protocol, srcText, dstText, srcPortText, dstPortText] = fields as [string, string, string, string, string];
  let src: string;
  let dst: string;
  if (protocol === 'TCP4') {
    const s = parseIpv4(srcText);
    const d = parseIpv4(dstText);
    if (s < 0 || d < 0) return E_V1_ADDRESS;
    src = srcText;
    dst = dstText;
  } else if (protocol === 'TCP6') {
    const s = ipv6Text(srcText);
    const d = ipv6Text(dstText);
    if (s === undefined || d === undefined) return E_V1_ADDRESS;
    src = s;
    dst = d;
  } else {
    return E_V1_PROTOCOL;
  }
  const srcPort = parsePort(srcPortText);
  const dstPort = parsePort(dstPortText);
  if (srcPort < 0 || dstPort < 0) return E_V1_PORT;
  return { kind: 'done', consumed, source: { address: src, port: srcPort }, destination: { address: dst, port: dstPort } };
}

const v6words = new Uint32Array(4);

function ipv6Text(text: string): string | undefined {
  if (!text.includes(':') || !parseIpv6(text, 0, text.length, v6words)) return undefined;
  return formatIpv6(v6words);
}

function parsePort(text: string): number {
  if (text.length === 0 || text.length > 5) return -1;
  if (text.length > 1 && text.charCodeAt(0) === 0x30) return -1;
  let v = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v > 65535 ? -1 : v;
}

function parseV2(buf: Uint8Array): ProxyHeaderResult {
  const n = buf.length;
  for (let i = 0; i < V2_SIGNATURE.length && i < n; i++) {
    if (buf[i] !== V2_SIGNATURE[i]) return E_V2_SIGNATURE;
  }
  if (n < 13) return INCOMPLETE;
  const versionCommand = buf[12]!;
  if (versionCommand >> 4 !== 2) return E_V2_VERSION;
  const command = versionCommand & 0x0f;
  if (command > 1) return E_V2_COMMAND;
  const local = command === 0;
  if (n < 14) return INCOMPLETE;
  const familyTransport = buf[13]!;
  // LOCAL: "the family ... is ignored" (section 2.2), so only PROXY checks it.
  if (!local) {
    switch (familyTransport) {
      case 0x00:
      case 0x11:
      case 0x21:
      case 0x31:
        break;
      case 0x12:
      case 0x22:
      case 0x32:
        return E_V2_UNSUPPORTED;
      default:
        return E_V2_FAMILY;
    }
  }
  if (n < 16) return INCOMPLETE;
  const length = (buf[14]! << 8) | buf[15]!;
  const total = 16 + length;
  if (total > PROXY_V2_MAX_LENGTH) return E_V2_TOO_LONG;
  if (n < total) return INCOMPLETE;
  if (local) return { kind: 'done', consumed: total };
  let addressEnd: number;
  let source: ProxyEndpoint | undefined;
  let destination: ProxyEndpoint | undefined;
  if (familyTransport === 0x11) {
    if (length < 12) return E_V2_SHORT;
    source = { address: formatIpv4(readU32(buf, 16)), port: readU16(buf, 24) };
    destination = { address: formatIpv4(readU32(buf, 20)), port: readU16(buf, 26) };
    addressEnd = 28;
  } else if (familyTransport === 0x21) {
    if (length < 36) return E_V2_SHORT;
    source = { address: formatIpv6(readWords(buf, 16)), port: readU16(buf, 48) };
    destination = { address: formatIpv6(readWords(buf, 32)), port: readU16(buf, 50) };
    addressEnd = 52;
  } else if (familyTransport === 0x31) {
    if (length < 216) return E_V2_SHORT;
    addressEnd = 16 + 216;
  } else {
    // AF_UNSPEC: the receiver ignores the address information, whose layout
    // it cannot know, so there are no TLV boundaries to check either.
    return { kind: 'done', consumed: total };
  }
  const tlvs = checkTlvs(buf, addressEnd, total);
  if (tlvs !== undefined) return tlvs;
  if (source === undefined) return { kind: 'done', consumed: total };
  return { kind: 'done', consumed: total, source, destination };
}

const PP2_TYPE_CRC32C = 0x03;

/** Walks the TLVs in buf[from, end); undefined when they tile it exactly (and any CRC32C matches). */
function checkTlvs(buf: Uint8Array, from: number, end: number): ProxyHeaderResult | undefined {
  let p = from;
  while (p < end) {
    if (p + 3 > end) return E_V2_TLV;
    const type = buf[p]!;
    const length = (buf[p + 1]! << 8) | buf[p + 2]!;
    const value = p + 3;
    if (value + length > end) return E_V2_TLV;
    if (type === PP2_TYPE_CRC32C) {
      if (length !== 4) return E_V2_TLV;
      const expected = readU32(buf, value);
      if (crc32cHeader(buf, end, value) !== expected) return E_V2_CRC;
    }
    p = value + length;
  }
  return undefined;
}

function readU16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

function readWords(buf: Uint8Array, at: number): number[] {
  return [readU32(buf, at), readU32(buf, at + 4), readU32(buf, at + 8), readU32(buf, at + 12)];
}

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), RFC 4960 appendix B.
let crcTable: Uint32Array | undefined;

function table(): Uint32Array {
  if (crcTable !== undefined) return crcTable;
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  crcTable = t;
  return t;
}

/** CRC-32C of `bytes`. */
export function crc32c(bytes: Uint8Array): number {
  const t = table();
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32C of buf[0, end) with the four bytes at `zeroAt` counted as zeros (the checksum field itself). */
function crc32cHeader(buf: Uint8Array, end: number, zeroAt: number): number {
  const t = table();
  let c = 0xffffffff;
  for (let i = 0; i < end; i++) {
    const b = i >= zeroAt && i < zeroAt + 4 ? 0 : buf[i]!;
    c = t[(c ^ b) & 0xff]! ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}
