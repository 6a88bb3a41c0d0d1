// Flags for metrics, access logs and tracing (docs/metrics.md,
// docs/access-log.md, docs/tracing.md), validated here so that a bad value
// stops the start with a usage error instead of reaching a worker.

import { compileAccessLogFormat } from '../observability/access-log/format.ts';
import { DEFAULT_OBSERVABILITY, type ObservabilityOptions } from '../dataplane/proxy/options.ts';
import { UsageError } from './listen-address.ts';
import type { FlagSpec } from './options.ts';

export const OBSERVABILITY_FLAGS = {
  'access-log': { type: 'string', default: 'stdout' },
  'access-log-format': { type: 'string', default: 'json' },
  'access-log-sample-ratio': { type: 'string', default: '1' },
  'metrics-per-host': { type: 'boolean' },
  'trace-create': { type: 'boolean' },
  'trace-sample-ratio': { type: 'string', default: '0.01' },
  'otlp-endpoint': { type: 'string' },
  'otlp-header': { type: 'string', multiple: true },
} as const satisfies Record<string, FlagSpec>;

export const OBSERVABILITY_HELP = `  --access-log stdout|stderr|off|PATH  one line per request (default stdout, like ingress-nginx)
  --access-log-format json|TEMPLATE    JSON lines, or a template with $variables (docs/access-log.md)
  --access-log-sample-ratio R      share of requests logged, 0..1; 5xx and cut ones always are (default 1)
  --metrics-per-host               add the virtual host as a label on request metrics (default: no)
  --[no-]trace-create              start a W3C trace for requests without traceparent (default: yes)
  --trace-sample-ratio R           share of the traces Martello starts that are sampled (default 0.01)
  --otlp-endpoint URL              export spans over OTLP/HTTP to this collector (default: off)
  --otlp-header K=V                extra header for the collector (repeatable)
`;

type Values = {
  'access-log'?: string;
  'access-log-format'?: string;
  'access-log-sample-ratio'?: string;
  'metrics-per-host'?: boolean;
  'trace-create'?: boolean;
  'trace-sample-ratio'?: string;
  'otlp-endpoint'?: string;
  'otlp-header'?: string[];
};

export function observabilityFrom(values: Values): ObservabilityOptions {
  const accessLog = values['access-log'] ?? 'stdout';
  if (accessLog === '') throw new UsageError('--access-log: expected stdout, stderr, off or a file path');
  const format = values['access-log-format'] ?? 'json';
  const compiled = compileAccessLogFormat(format);
  if ('error' in compiled) throw new UsageError(`--access-log-format: ${compiled.error}`);
  const headers: Record<string, string> = {};
  for (const h of values['otlp-header'] ?? []) {
    const eq = h.indexOf('=');
    if (eq <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h.slice(0, eq)) || /[\r\n\0]/.test(h.slice(eq + 1))) {
      throw new UsageError(`--otlp-header: expected NAME=VALUE, got "${h}"`);
    }
    headers[h.slice(0, eq).toLowerCase()] = h.slice(eq + 1);
  }
  const endpoint = values['otlp-endpoint'];
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UsageError(`--otlp-endpoint: not a URL: "${endpoint}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--otlp-endpoint: expected an http:// or https:// URL, got "${endpoint}"`);
  }
  return {
    ...DEFAULT_OBSERVABILITY,
    metricsPerHost: values['metrics-per-host'] === true,
    accessLog,
    accessLogFormat: format,
    accessLogSampleRatio: ratio('--access-log-sample-ratio', values['access-log-sample-ratio'] ?? '1'),
    traceCreate: values['trace-create'] !== false,
    traceSampleRatio: ratio('--trace-sample-ratio', values['trace-sample-ratio'] ?? '0.01'),
    otlpEndpoint: endpoint ?? null,
    otlpHeaders: headers,
  };
}

function ratio(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`${flag}: expected a number from 0 to 1, got "${text}"`);
  return n;
}
