// Structured logging: one JSON object per line on stderr, so operators can
// pipe Martello's output straight into a log pipeline. Kept dependency-free
// and synchronous-cheap; the hot path never logs per request.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_ORDER: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line (e.g. { component: 'proxy' }). */
  child(fields: Record<string, unknown>): Logger;
}

export interface LogSink {
  write(line: string): unknown;
}

export function createLogger(sink: LogSink, minLevel: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  const min = LEVEL_ORDER[minLevel];
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVEL_ORDER[level] < min) return;
    const line = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    sink.write(JSON.stringify(line, errorReplacer) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(sink, minLevel, { ...base, ...fields }),
  };
}

/** A logger that drops everything (tests of pure code, `--quiet`). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return code === undefined ? { message: value.message } : { message: value.message, code };
  }
  return value;
}
