// The access log of one process: the compiled format and the writer thread
// (docs/access-log.md). The format was validated when the flags were parsed,
// so a bad one here is a programming error.

import { compileAccessLogFormat } from '../../observability/access-log/format.ts';
import { JSON_LINE_ENCODER } from '../../observability/access-log/json-line-encoder.ts';
import { AccessLogWriter } from '../../observability/access-log/writer.ts';
import type { ObservabilityOptions } from '../proxy/options.ts';
import type { AccessLogOutput } from './exchange-observer.ts';

export interface AccessLogHandle extends AccessLogOutput {
  stats(): { lines: number; dropped: number };
  close(): Promise<void>;
}

export function createAccessLog(options: ObservabilityOptions): AccessLogHandle | null {
  if (options.accessLog === 'off') return null;
  const formatter = compileAccessLogFormat(options.accessLogFormat);
  if ('error' in formatter) throw new Error(`--access-log-format: ${formatter.error}`);
  const writer = new AccessLogWriter({ destination: options.accessLog });
  return {
    sampleRatio: options.accessLogSampleRatio,
    // JSON lines are encoded straight into the batch's bytes; a template's line is built as a string first.
    log: formatter.kind === 'json' ? (rec) => writer.append(JSON_LINE_ENCODER, rec) : (rec) => writer.write(formatter.format(rec)),
    stats: () => {
      const s = writer.stats();
      return { lines: s.lines, dropped: s.dropped };
    },
    close: () => writer.close(),
  };
}
