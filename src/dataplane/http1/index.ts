// The strict HTTP/1.1 codec of the data plane: pure Buffer work, no sockets,
// no timers (see docs/http1-codec.md). This file is the public surface.

export { type Authority, parseAuthority } from './authority.ts';
export { asUpstreamError, E, type ParseError, type ParseErrorCode, type ParseErrorStatus } from './errors.ts';
export { FORBIDDEN_TRAILERS } from './fields.ts';
export { DEFAULT_REQUEST_LIMITS, DEFAULT_RESPONSE_LIMITS, type Http1Limits } from './limits.ts';
export type {
  BodyHandler,
  Framing,
  HttpVersion,
  ParseOutcome,
  RequestHandler,
  RequestHead,
  ResponseHandler,
  ResponseHead,
} from './message.ts';
export { ACCEPTED_METHODS } from './methods.ts';
export { RequestParser } from './request-parser.ts';
export { ResponseParser } from './response-parser.ts';
export {
  CHUNK_END,
  chunkHeader,
  LAST_CHUNK,
  lastChunk,
  type RequestBody,
  type ResponseBody,
  SerializeError,
  serializeRequestHead,
  serializeResponseHead,
  writeChunkHeader,
} from './serialize.ts';
export { reasonPhrase } from './status-text.ts';
export type { AbsoluteTarget, TargetForm } from './target.ts';
