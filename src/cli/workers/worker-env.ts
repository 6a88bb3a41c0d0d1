// What a data-plane worker inherits from the primary (docs/security.md):
// workers parse internet traffic and never hold Kubernetes credentials, so
// their environment is an allow-list (nothing else is passed: not
// KUBERNETES_*, KUBECONFIG, cloud credentials, tokens or passwords, whatever
// their names) and their Node options lose the flags that would hand them a
// debugger port or make them load an environment file themselves. A worker
// gets no command-line arguments of the primary (no --kubeconfig): all its
// settings arrive over IPC.

/** Variables passed by exact name. */
const PASSED = new Set([
  // Finding programs and writing temporary files.
  'PATH', 'TMPDIR',
  // Time zone and locale (log timestamps, ICU).
  'TZ', 'LANG', 'LANGUAGE',
  // The Node.js runtime: options (heap size, --require hooks chosen by the
  // operator), extra CA certificates for upstream TLS, ICU data, warnings,
  // coverage collection in tests.
  'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'NODE_ICU_DATA', 'NODE_NO_WARNINGS', 'NODE_PENDING_DEPRECATION',
  'NODE_DISABLE_COLORS', 'NODE_V8_COVERAGE', 'NODE_ENV',
  // libuv and OpenSSL (trust store locations, not keys).
  'UV_THREADPOOL_SIZE', 'UV_USE_IO_URING', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'OPENSSL_CONF',
  // glibc memory tuning.
  'MALLOC_ARENA_MAX', 'GLIBC_TUNABLES',
]);

/** Variables passed by prefix. */
const PASSED_PREFIXES = ['LC_'];

/**
 * The environment of a worker: the allow-listed variables of `env`, plus
 * `extra` (Martello's own, e.g. the worker's slot). Everything else stays in
 * the primary.
 */
export function workerEnvironment(env: NodeJS.ProcessEnv, extra: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (PASSED.has(name) || PASSED_PREFIXES.some((p) => name.startsWith(p))) out[name] = value;
  }
  if (out['NODE_OPTIONS'] !== undefined) {
    const options = scrubNodeOptions(out['NODE_OPTIONS']);
    if (options === '') delete out['NODE_OPTIONS'];
    else out['NODE_OPTIONS'] = options;
  }
  return { ...out, ...extra };
}

/** Flags of the primary's Node options that a worker must not repeat. */
function isDropped(flag: string): boolean {
  const name = flag.split('=', 1)[0] ?? flag;
  // Every worker would try to bind the primary's inspector port.
  if (name.startsWith('--inspect') || name === '--debug-port') return true;
  // The worker would read the primary's environment file (credentials included) itself.
  return name === '--env-file' || name === '--env-file-if-exists';
}

/** Flags that take their value as the next argument when written without "=". */
const TAKES_VALUE = new Set(['--env-file', '--env-file-if-exists', '--inspect-port', '--debug-port']);

/**
 * The primary's `process.execArgv` for a worker: the same runtime flags
 * (heap size, warnings, loaders), without debugger ports and environment
 * files. Order is kept: Node derives the TLS session-id context from argv,
 * which must be the same in every worker.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (isDropped(arg)) {
      if (!arg.includes('=') && TAKES_VALUE.has(arg)) i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** NODE_OPTIONS without the dropped flags (split on whitespace, as Node does for unquoted values). */
function scrubNodeOptions(options: string): string {
  const parts = options.split(/\s+/).filter((p) => p !== '');
  const kept = workerExecArgv(parts);
  // Untouched unless something was dropped (quoted values keep their spacing).
  return kept.length === parts.length ? options : kept.join(' ');
}

/** The user and group worker processes run as (--worker-user). */
export interface WorkerUser {
  readonly uid: number;
  readonly gid: number;
}

/**
 * --worker-user UID[:GID] (numbers; GID defaults to UID). Root (0) is
 * refused: the point is a user that cannot read what the primary can.
 */
export function parseWorkerUser(value: string): WorkerUser | string {
  const m = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(value);
  if (m === null) return `expected UID or UID:GID (numbers, e.g. 65534:65534), got "${value}"`;
  const uid = Number(m[1]);
  const gid = m[2] === undefined ? uid : Number(m[2]);
  if (uid > 0xfffffffe || gid > 0xfffffffe) return `expected UID or UID:GID below 4294967295, got "${value}"`;
  if (uid === 0 || gid === 0) return `workers must not run as root (uid or gid 0), got "${value}"`;
  return { uid, gid };
}
