// Status bodies, the API server's one error shape (kubernetes-api.md §2.10).
// Every failure the test server produces is a StatusError carrying the
// exact JSON the real server would send, so clients are tested against
// real messages and reasons, not approximations.

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** Thrown anywhere in the server; the HTTP layer turns it into a response. */
export class StatusError extends Error {
  override readonly name = 'StatusError';
  readonly body: StatusBody;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(body: StatusBody, headers: Record<string, string> = {}) {
    super(body.message ?? body.reason ?? 'error');
    this.body = body;
    this.headers = headers;
  }

  get code(): number {
    return this.body.code;
  }
}

export function failure(code: number, reason: string, message: string, details?: StatusDetails): StatusBody {
  // Key order as the real server writes it: details before code.
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details === undefined ? {} : { details }), code };
}

/** What a resource error names: the plural and group ("ingresses.networking.k8s.io"). */
export interface GroupResource {
  readonly group: string;
  readonly plural: string;
}

/** "ingresses.networking.k8s.io" or "services" for the core group. */
export function qualifiedResource(gr: GroupResource): string {
  return gr.group === '' ? gr.plural : `${gr.plural}.${gr.group}`;
}

function resourceDetails(gr: GroupResource, name: string): StatusDetails {
  const details: StatusDetails = { name };
  if (gr.group !== '') details.group = gr.group;
  details.kind = gr.plural;
  return details;
}

export function notFound(gr: GroupResource, name: string): StatusError {
  return new StatusError(failure(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, resourceDetails(gr, name)));
}

/** A path the server does not serve at all. */
export function unknownPath(): StatusError {
  return new StatusError(failure(404, 'NotFound', 'the server could not find the requested resource', {}));
}

export function methodNotAllowed(): StatusError {
  return new StatusError(failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}));
}

export function alreadyExists(gr: GroupResource, name: string): StatusError {
  return new StatusError(failure(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, resourceDetails(gr, name)));
}

/** The stale-resourceVersion conflict, word for word as the registry store words it. */
export function conflict(gr: GroupResource, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): StatusError {
  return new StatusError(failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`, resourceDetails(gr, name)));
}

export function badRequest(message: string): StatusError {
  // The real server sends BadRequest without details.
  return new StatusError(failure(400, 'BadRequest', message));
}

export function unauthorized(): StatusError {
  return new StatusError(failure(401, 'Unauthorized', 'Unauthorized'));
}

export function unsupportedMediaType(contentType: string, accepted: readonly string[]): StatusError {
  return new StatusError(failure(415, 'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`, {}),
  { 'x-rejected-content-type': contentType });
}

export function expired(message: string): StatusError {
  return new StatusError(failure(410, 'Expired', message));
}

/** One field error of a 422 Invalid answer. */
export interface FieldError {
  readonly type: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueNotSupported' | 'FieldValueTooLong' | 'FieldValueForbidden';
  readonly field: string;
  /** The text after "field: ", e.g. 'Invalid value: "x": must be ...' or "Required value". */
  readonly detail: string;
}

export function invalidValue(field: string, value: unknown, why: string): FieldError {
  return { type: 'FieldValueInvalid', field, detail: `Invalid value: ${JSON.stringify(value)}: ${why}` };
}

export function requiredValue(field: string, why?: string): FieldError {
  return { type: 'FieldValueRequired', field, detail: why === undefined ? 'Required value' : `Required value: ${why}` };
}

export function notSupported(field: string, value: unknown, allowed: readonly string[]): FieldError {
  return { type: 'FieldValueNotSupported', field, detail: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}` };
}

export function tooLong(field: string, max: number): FieldError {
  return { type: 'FieldValueTooLong', field, detail: `Too long: may not be more than ${max} bytes` };
}

export function forbidden(field: string, why: string): FieldError {
  return { type: 'FieldValueForbidden', field, detail: `Forbidden: ${why}` };
}

/**
 * 422 Invalid: `Ingress.networking.k8s.io "x" is invalid: <errors>`; one
 * error is printed bare, several in brackets, as the aggregate error prints them.
 */
export function invalid(kind: string, group: string, name: string, errors: readonly FieldError[]): StatusError {
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const texts = errors.map((e) => `${e.field}: ${e.detail}`);
  const joined = texts.length === 1 ? texts[0]! : `[${texts.join(', ')}]`;
  const details: StatusDetails = { name };
  if (group !== '') details.group = group;
  details.kind = kind;
  details.causes = errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field }));
  return new StatusError(failure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${joined}`, details));
}

/** 504 for a resourceVersion the server has not reached (what a real watch cache answers after waiting). */
export function resourceVersionTooLarge(requested: string, current: string): StatusError {
  return new StatusError(failure(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  }), { 'retry-after': '1' });
}

export function success(details?: StatusDetails): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details === undefined ? {} : { details }), code: 200 };
}
