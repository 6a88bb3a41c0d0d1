// A tiny OTLP/HTTP JSON trace collector for tests: accepts POST /v1/traces,
// decodes the ExportTraceServiceRequest and keeps every span (with its
// resource and scope) so tests can assert on what an exporter sent. It can
// answer with another status or hold the answer back to simulate a failing or
// hanging collector. Listens on 127.0.0.1, port 0.

import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type CollectedValue = string | number | boolean;

export interface CollectedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' when the span has none. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  /** 0 when no status was sent. */
  readonly statusCode: number;
  /** Span attributes; intValue decoded to a number. */
  readonly attributes: Readonly<Record<string, CollectedValue>>;
  /** Resource attributes of the resourceSpans entry it came in. */
  readonly resource: Readonly<Record<string, CollectedValue>>;
  readonly scope: string;
  /** The raw JSON of the span as received, for checks of the exact encoding. */
  readonly raw: unknown;
}

export interface CollectorRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Spans in this request (0 if the body did not decode). */
  readonly spans: number;
}

export interface OtlpCollector {
  /** Base URL, e.g. http://127.0.0.1:12345 (the exporter appends /v1/traces). */
  readonly url: string;
  /** Spans received in requests answered with 2xx, in arrival order. */
  spans(): CollectedSpan[];
  /** Resolves with the spans once at least `n` were received; rejects after `timeoutMs`. */
  waitForSpans(n: number, timeoutMs?: number): Promise<CollectedSpan[]>;
  /** Requests received so far (any status). */
  readonly requests: number;
  /** Every request received, in order. */
  requestLog(): CollectorRequest[];
  /** Changes the status later requests get. */
  setStatus(status: number): void;
  /** Changes how long later requests wait before the answer. */
  setDelay(delayMs: number): void;
  close(): Promise<void>;
}

export interface CollectorOptions {
  /** Status of every answer (default 200). Spans of non-2xx requests are not kept. */
  readonly status?: number;
  /** Wait this long before answering (default 0). */
  readonly delayMs?: number;
}

function attributesOf(list: unknown): Record<string, CollectedValue> {
  const out: Record<string, CollectedValue> = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list as Array<{ key: string; value: Record<string, unknown> }>) {
    const v = kv.value;
    if (typeof v.stringValue === 'string') out[kv.key] = v.stringValue;
    else if (typeof v.intValue === 'string' || typeof v.intValue === 'number') out[kv.key] = Number(v.intValue);
    else if (typeof v.doubleValue === 'number') out[kv.key] = v.doubleValue;
    else if (typeof v.boolValue === 'boolean') out[kv.key] = v.boolValue;
  }
  return out;
}

function decode(body: string): CollectedSpan[] {
  const out: CollectedSpan[] = [];
  const req = JSON.parse(body) as { resourceSpans?: Array<{ resource?: { attributes?: unknown }; scopeSpans?: Array<{ scope?: { name?: string }; spans?: Array<Record<string, unknown>> }> }> };
  for (const rs of req.resourceSpans ?? []) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: String(s.traceId ?? ''),
          spanId: String(s.spanId ?? ''),
          parentSpanId: String(s.parentSpanId ?? ''),
          name: String(s.name ?? ''),
          kind: Number(s.kind ?? 0),
          startTimeUnixNano: String(s.startTimeUnixNano ?? ''),
          endTimeUnixNano: String(s.endTimeUnixNano ?? ''),
          statusCode: Number((s.status as { code?: number } | undefined)?.code ?? 0),
          attributes: attributesOf(s.attributes),
          resource,
          scope: ss.scope?.name ?? '',
          raw: s,
        });
      }
    }
  }
  return out;
}

export async function startOtlpCollector(options: CollectorOptions = {}): Promise<OtlpCollector> {
  let status = options.status ?? 200;
  let delayMs = options.delayMs ?? 0;
  const spans: CollectedSpan[] = [];
  const log: CollectorRequest[] = [];
  const pending = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let decoded: CollectedSpan[] = [];
      try {
        decoded = decode(Buffer.concat(chunks).toString('utf8'));
      } catch {
        decoded = [];
      }
      log.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, spans: decoded.length });
      const answer = status;
      const reply = () => {
        const ok = answer >= 200 && answer < 300 && req.method === 'POST' && req.url === '/v1/traces';
        if (ok) {
          spans.push(...decoded);
          for (const w of waiters) w();
        }
        const body = ok ? '{}' : JSON.stringify({ code: 13, message: `status ${answer}` });
        res.writeHead(ok ? answer : answer >= 300 ? answer : 404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (delayMs <= 0) {
        reply();
        return;
      }
      const t = setTimeout(() => {
        pending.delete(t);
        reply();
      }, delayMs);
      pending.add(t);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    spans: () => spans.slice(),
    waitForSpans(n: number, timeoutMs = 10_000): Promise<CollectedSpan[]> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (spans.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(spans.slice());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`collector: ${spans.length} of ${n} spans within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    get requests() {
      return log.length;
    },
    requestLog: () => log.slice(),
    setStatus(s: number) {
      status = s;
    },
    setDelay(d: number) {
      delayMs = d;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of pending) clearTimeout(t);
        pending.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
