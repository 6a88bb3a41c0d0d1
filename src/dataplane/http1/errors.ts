// Parse errors are values, not exceptions: a peer sending bad bytes is an
// expected event on an internet-facing listener. Each error names the status
// the proxy should answer with (502 for anything an upstream sent) and a
// stable code for logs and metrics. After any error the parser refuses
// further input: the connection is to be closed (security.md R5, R7).
//
// The objects are prebuilt and frozen so that rejecting costs no allocation.

export type ParseErrorStatus = 400 | 408 | 413 | 414 | 417 | 431 | 501 | 502 | 505;

export interface ParseError {
  readonly status: ParseErrorStatus;
  readonly code: ParseErrorCode;
  readonly message: string;
}

function def<C extends string>(status: ParseErrorStatus, code: C, message: string): { readonly status: ParseErrorStatus; readonly code: C; readonly message: string } {
  return Object.freeze({ status, code, message });
}

/** Every error the codec produces, by name. */
export const E = Object.freeze({
  // line structure
  bareLf: def(400, 'bare-lf', 'line ending without CR'),
  bareCr: def(400, 'bare-cr', 'CR not followed by LF'),
  obsFold: def(400, 'obs-fold', 'header line starts with whitespace (obsolete line folding)'),
  leadingWhitespace: def(400, 'leading-whitespace', 'whitespace before the first header line'),
  // request line
  invalidRequestLine: def(400, 'invalid-request-line', 'malformed request line'),
  missingVersion: def(400, 'missing-version', 'request line without HTTP version (HTTP/0.9 is not supported)'),
  invalidVersion: def(400, 'invalid-version', 'malformed HTTP version'),
  unsupportedVersion: def(505, 'unsupported-version', 'only HTTP/1.0 and HTTP/1.1 are supported on this connection'),
  invalidMethod: def(400, 'invalid-method', 'method is not a token'),
  unknownMethod: def(501, 'unknown-method', 'method not implemented'),
  connectNotSupported: def(501, 'connect-not-supported', 'CONNECT is not supported'),
  invalidTarget: def(400, 'invalid-target', 'malformed request target'),
  fragmentInTarget: def(400, 'fragment-in-target', "request target contains '#'"),
  asteriskNotOptions: def(400, 'asterisk-form-not-options', "request target '*' is only allowed with OPTIONS"),
  requestLineTooLong: def(414, 'request-line-too-long', 'request line too long'),
  // header fields
  headTooLarge: def(431, 'head-too-large', 'request header section too large'),
  tooManyHeaders: def(431, 'too-many-headers', 'too many header fields'),
  invalidHeaderName: def(400, 'invalid-header-name', 'header field name is not a token'),
  whitespaceBeforeColon: def(400, 'whitespace-before-colon', 'whitespace between header field name and colon'),
  missingColon: def(400, 'missing-colon', 'header line without colon'),
  invalidHeaderValue: def(400, 'invalid-header-value', 'control character in header field value'),
  // semantics of the request head
  missingHost: def(400, 'missing-host', 'HTTP/1.1 request without Host'),
  duplicateHost: def(400, 'duplicate-host', 'more than one Host header'),
  invalidHost: def(400, 'invalid-host', 'malformed Host'),
  hostMismatch: def(400, 'host-mismatch', 'absolute-form target authority differs from Host'),
  invalidContentLength: def(400, 'invalid-content-length', 'malformed Content-Length'),
  duplicateContentLength: def(400, 'duplicate-content-length', 'more than one Content-Length'),
  contentLengthWithTransferEncoding: def(400, 'content-length-with-transfer-encoding', 'both Content-Length and Transfer-Encoding'),
  duplicateTransferEncoding: def(400, 'duplicate-transfer-encoding', 'more than one Transfer-Encoding header'),
  invalidTransferEncoding: def(400, 'invalid-transfer-encoding', 'malformed Transfer-Encoding'),
  unsupportedTransferCoding: def(501, 'unsupported-transfer-coding', 'only the chunked transfer coding is supported'),
  transferEncodingHttp10: def(400, 'transfer-encoding-http10', 'Transfer-Encoding in an HTTP/1.0 message'),
  invalidConnection: def(400, 'invalid-connection', 'malformed Connection'),
  unsupportedExpectation: def(417, 'unsupported-expectation', 'only Expect: 100-continue is supported'),
  // body
  bodyTooLarge: def(413, 'body-too-large', 'message body too large'),
  invalidChunkSize: def(400, 'invalid-chunk-size', 'malformed chunk size'),
  chunkSizeOverflow: def(400, 'chunk-size-overflow', 'chunk size too large'),
  invalidChunkExtension: def(400, 'invalid-chunk-extension', 'malformed chunk extension'),
  chunkExtensionTooLarge: def(413, 'chunk-extension-too-large', 'chunk extensions too large'),
  missingChunkCrlf: def(400, 'missing-chunk-crlf', 'chunk data not followed by CRLF'),
  trailersTooLarge: def(431, 'trailers-too-large', 'trailer section too large'),
  forbiddenTrailer: def(400, 'forbidden-trailer', 'framing, routing or connection field in trailers'),
  // for callers (the codec has no clock)
  headerTimeout: def(408, 'header-timeout', 'request header not received in time'),
  // upstream responses
  invalidStatusLine: def(502, 'invalid-status-line', 'malformed status line'),
  invalidStatus: def(502, 'invalid-status', 'status code out of range'),
  unexpectedData: def(502, 'unexpected-data', 'bytes from upstream when no response was expected'),
  incompleteMessage: def(502, 'incomplete-message', 'connection closed before the message was complete'),
  closedBeforeResponse: def(502, 'closed-before-response', 'connection closed before any response byte'),
  transferEncodingNotAllowed: def(502, 'transfer-encoding-not-allowed', 'Transfer-Encoding on a 1xx or 204 response'),
});

type Defined = (typeof E)[keyof typeof E];
export type ParseErrorCode = Defined['code'];

const upstreamTwins = new Map<ParseErrorCode, ParseError>();

/** The same error as seen from the client side of an upstream: always 502. */
export function asUpstreamError(error: ParseError): ParseError {
  if (error.status === 502) return error;
  let twin = upstreamTwins.get(error.code);
  if (twin === undefined) {
    twin = Object.freeze({ status: 502, code: error.code, message: `upstream: ${error.message}` });
    upstreamTwins.set(error.code, twin);
  }
  return twin;
}
