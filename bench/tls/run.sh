#!/usr/bin/env bash
# TLS handshakes per second and HTTP/2 requests per second: nginx and
# Martello side by side, each terminating TLS on one pinned core in front of
# the same nginx backend. Method and results: docs/benchmarks.md, section
# "TLS handshakes and HTTP/2". Usage: bash bench/tls/run.sh --help
#
# Everything listens on 127.0.0.1 only; every load run is bounded by
# `timeout`; every process started here is killed by PID on exit (also on
# Ctrl-C) and the temp dir under /tmp (certificates and keys included) is
# removed.

set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH="$ROOT/bench"
HERE="$BENCH/tls"
NODE="$ROOT/node_modules/.bin/node"
LIB=(python3 "$BENCH/benchlib.py")
TLSLIB=(python3 "$HERE/tlslib.py")

TARGETS="nginx,martello"
CASES="hs-ecdsa,hs-rsa,h2-m10,h2-m1"
REPS=3
DURATION=10
WARMUP=3
PAUSE=2
HS_CONNS=50
H2_CONNS=50
PROXY_CPU=0
LOAD_CPU=1
DOCS="$ROOT/docs/benchmarks.md"
WRITE_DOCS=1
INSTALL=0
CHECK_ONLY=0
SMOKE=0
READY_TIMEOUT=30
MARTELLO_EXTRA=""
MAX_RETRIES=""   # default: --reps
QUIET_WAIT=60
CPU_PROF=""
# 100 bytes exactly (checked below), the same body as bench/run.sh.
BODY="martello-bench backend ok: fixed body of one hundred bytes for proxy comparisons...................."

usage() {
  cat <<EOF
Usage: bash bench/tls/run.sh [options]

TLS handshakes/s (a new TLS connection per request, never resumed) and HTTP/2
req/s (h2load) through nginx and Martello, each on CPU $PROXY_CPU, in front of one
nginx backend (CPU $LOAD_CPU); the load generators also run on CPU $LOAD_CPU.

Cases (--cases):
  hs-ecdsa   handshakes/s, ECDSA P-256 certificate: bench/tls/handshake-load.go
             (Go, built at start), $HS_CONNS connection loops, GET / with Connection: close
  hs-rsa     the same with an RSA-2048 certificate (server-side signing cost)
  h2-m10     h2load -c $H2_CONNS -m 10: HTTP/2 over TLS, 10 concurrent streams per connection
  h2-m1      h2load -c $H2_CONNS -m 1

Options:
  --targets LIST     subset of nginx,martello (default $TARGETS)
  --cases LIST       subset of the cases above (default $CASES)
  --reps N           measured repetitions per case and target (default $REPS)
  --duration S       seconds per measured run (default $DURATION)
  --warmup S         warm-up seconds per case and target (default $WARMUP)
  --pause S          idle seconds between runs (default $PAUSE)
  --hs-conns N       concurrent connection loops of the handshake client (default $HS_CONNS)
  --h2-conns N       h2load connections (default $H2_CONNS)
  --docs FILE        Markdown page to update between the bench:tls markers
                     (default docs/benchmarks.md)
  --no-docs          print the results only; do not touch the docs page
  --martello-args S  extra arguments appended to 'martello serve'
  --max-retries N    repeat at most N rounds per case in which other processes plus
                     hypervisor steal took more than --max-foreign of CPU 0 or CPU 1
                     (default: --reps)
  --max-foreign F    that share, as a fraction (default 0.15)
  --quiet-wait S     before each round, wait up to S seconds for both CPUs to be nearly
                     idle (default $QUIET_WAIT; 0 = do not wait)
  --cpu-prof DIR     after the measured runs, run each case once more against a fresh
                     Martello started with NODE_OPTIONS=--cpu-prof, keep the profiles in
                     DIR and print each one's top self-time functions (with --reps 0:
                     profiles only, nothing measured, docs untouched)
  --smoke            quick end-to-end check of the harness (about 30 s): --reps 1
                     --duration 1 --warmup 1 --pause 0 --quiet-wait 0 --max-retries 0 --no-docs
  --check            only check the prerequisites and exit
  --install          apt-get install the missing Debian packages first (needs root)
  -h, --help         this text

Raw per-run results (JSON lines) and the Markdown table are also kept in
bench/results/tls-*.
EOF
}

die() { echo "bench-tls: $*" >&2; exit 1; }
log() { echo "bench-tls: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --targets) TARGETS=${2:?}; shift 2 ;;
    --cases) CASES=${2:?}; shift 2 ;;
    --reps) REPS=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --pause) PAUSE=${2:?}; shift 2 ;;
    --hs-conns) HS_CONNS=${2:?}; shift 2 ;;
    --h2-conns) H2_CONNS=${2:?}; shift 2 ;;
    --docs) DOCS=${2:?}; shift 2 ;;
    --no-docs) WRITE_DOCS=0; shift ;;
    --martello-args) MARTELLO_EXTRA=${2?}; shift 2 ;;
    --max-retries) MAX_RETRIES=${2:?}; shift 2 ;;
    --max-foreign) export BENCH_MAX_FOREIGN=${2:?}; shift 2 ;;
    --quiet-wait) QUIET_WAIT=${2:?}; shift 2 ;;
    --cpu-prof) CPU_PROF=${2:?}; shift 2 ;;
    --smoke) SMOKE=1; shift ;;
    --check) CHECK_ONLY=1; shift ;;
    --install) INSTALL=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done
if [ "$SMOKE" = 1 ]; then
  REPS=1; DURATION=1; WARMUP=1; PAUSE=0; QUIET_WAIT=0; MAX_RETRIES=0; WRITE_DOCS=0
fi

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
is_uint "$REPS" || die "--reps must be an integer"
[ "$REPS" -ge 1 ] || [ -n "$CPU_PROF" ] || die "--reps 0 only makes sense with --cpu-prof"
is_uint "$DURATION" && [ "$DURATION" -ge 1 ] || die "--duration must be a positive integer"
is_uint "$WARMUP" || die "--warmup must be an integer"
is_uint "$PAUSE" || die "--pause must be an integer"
is_uint "$HS_CONNS" && [ "$HS_CONNS" -ge 1 ] || die "--hs-conns must be a positive integer"
is_uint "$H2_CONNS" && [ "$H2_CONNS" -ge 1 ] || die "--h2-conns must be a positive integer"
[ -n "$MAX_RETRIES" ] || MAX_RETRIES=$REPS
is_uint "$MAX_RETRIES" || die "--max-retries must be an integer"
is_uint "$QUIET_WAIT" || die "--quiet-wait must be an integer"
IFS=, read -r -a TARGET_LIST <<<"$TARGETS"
IFS=, read -r -a CASE_LIST <<<"$CASES"
[ ${#TARGET_LIST[@]} -ge 1 ] || die "--targets is empty"
[ ${#CASE_LIST[@]} -ge 1 ] || die "--cases is empty"
for t in "${TARGET_LIST[@]}"; do
  case "$t" in nginx|martello) ;; *) die "unknown target '$t' (use nginx, martello)" ;; esac
done
for c in "${CASE_LIST[@]}"; do
  case "$c" in hs-ecdsa|hs-rsa|h2-m10|h2-m1) ;; *) die "unknown case '$c' (use hs-ecdsa, hs-rsa, h2-m10, h2-m1)" ;; esac
done
has_target() { local t; for t in "${TARGET_LIST[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }
has_case_kind() { local c; for c in "${CASE_LIST[@]}"; do [ "${c%%-*}" = "$1" ] && return 0; done; return 1; }
[ -z "$CPU_PROF" ] || has_target martello || die "--cpu-prof needs the martello target"
[ ${#BODY} -eq 100 ] || die "internal: body is ${#BODY} bytes, not 100"

# ------------------------------------------------------------ prerequisites

missing=()
missing_pkgs=()
need_cmd() { # cmd package hint
  if ! command -v "$1" >/dev/null 2>&1; then
    missing+=("$1: not found on PATH ($3)")
    [ -n "$2" ] && missing_pkgs+=("$2")
  fi
  return 0
}
check_prereqs() {
  missing=(); missing_pkgs=()
  need_cmd nginx nginx-light "Debian: apt-get install nginx-light (or nginx)"
  need_cmd taskset util-linux "Debian: apt-get install util-linux"
  need_cmd timeout coreutils "Debian: apt-get install coreutils"
  need_cmd curl curl "Debian: apt-get install curl"
  need_cmd openssl openssl "Debian: apt-get install openssl"
  need_cmd python3 python3 "the summariser bench/tls/tlslib.py needs Python 3"
  has_case_kind h2 && need_cmd h2load nghttp2-client "Debian: apt-get install nghttp2-client"
  has_case_kind hs && need_cmd go golang-go "builds the handshake client bench/tls/handshake-load.go; Debian: apt-get install golang-go"
  if command -v nginx >/dev/null 2>&1; then
    local v
    v=$(nginx -V 2>&1)
    grep -q -- '--with-http_ssl_module' <<<"$v" || missing+=("nginx: built without http_ssl_module (Debian's nginx-light, nginx-full and nginx have it)")
    grep -q -- '--with-http_v2_module' <<<"$v" || missing+=("nginx: built without http_v2_module (Debian's nginx-light, nginx-full and nginx have it)")
  fi
  # Certificates are made by bench/tls/setup.ts with the project's runtime.
  [ -x "$NODE" ] || missing+=("node_modules/.bin/node: missing (Node.js 26 runtime of the project; run 'npm ci')")
  if has_target martello; then
    [ -x "$ROOT/bin/martello" ] || missing+=("bin/martello: missing or not executable")
  fi
  local cpus
  cpus=$(nproc 2>/dev/null || echo 1)
  if [ "$cpus" -le "$PROXY_CPU" ] || [ "$cpus" -le "$LOAD_CPU" ]; then
    missing+=("CPUs: need CPUs $PROXY_CPU and $LOAD_CPU, this machine has $cpus")
  fi
}
check_prereqs
if [ ${#missing[@]} -gt 0 ] && [ "$INSTALL" = 1 ] && [ ${#missing_pkgs[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "--install needs root (apt-get)"
  pkgs=()
  for p in "${missing_pkgs[@]}"; do
    if [ "$p" = nginx-light ] && ! apt-cache policy nginx-light 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      p=nginx
    fi
    pkgs+=("$p")
  done
  log "installing: ${pkgs[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${pkgs[@]}"
  check_prereqs
fi
if [ ${#missing[@]} -gt 0 ]; then
  for m in "${missing[@]}"; do echo "bench-tls: missing prerequisite: $m" >&2; done
  [ ${#missing_pkgs[@]} -gt 0 ] && echo "bench-tls: 'bash bench/tls/run.sh --install' apt-gets the Debian packages (as root)" >&2
  exit 1
fi
if [ "$CHECK_ONLY" = 1 ]; then
  echo "bench-tls: all prerequisites present: nginx (ssl, http_v2) taskset timeout curl openssl python3 node_modules/.bin/node$(has_case_kind h2 && echo ' h2load')$(has_case_kind hs && echo ' go')$(has_target martello && echo ' bin/martello')"
  exit 0
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ------------------------------------------------------------ processes + cleanup

TMP=$(mktemp -d /tmp/martello-bench-tls.XXXXXX)
chmod 755 "$TMP" # nginx workers run as 'nobody' (temp paths); keys stay 0600, read by the master
PIDS=()   # every background process started here, in start order
LOADPID=""

descendants() { # pid -> its descendant pids, deepest last
  local c
  for c in $(pgrep -P "$1" 2>/dev/null || true); do echo "$c"; descendants "$c"; done
}
alive() { # true while pid exists and is not a zombie
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
STOP_WAIT=10 # seconds stop_pids waits after TERM before KILL
stop_pids() { # TERM, wait up to STOP_WAIT s, then KILL; reap our direct children
  local all=() p i
  for p in "$@"; do
    [ -n "$p" ] || continue
    all+=("$p")
    while read -r i; do [ -n "$i" ] && all+=("$i"); done < <(descendants "$p")
  done
  [ ${#all[@]} -gt 0 ] || return 0
  kill -TERM "${all[@]}" 2>/dev/null || true
  for _ in $(seq $((STOP_WAIT * 10))); do
    local any=0
    for p in "${all[@]}"; do alive "$p" && any=1; done
    [ "$any" = 0 ] && break
    sleep 0.1
  done
  for p in "${all[@]}"; do if alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$LOADPID" ]; then stop_pids "$LOADPID"; fi
  local rev=() i
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do rev+=("${PIDS[i]}"); done
  [ ${#rev[@]} -gt 0 ] && stop_pids "${rev[@]}"
  if [ -n "${KEEP_TMP:-}" ]; then log "kept temp dir $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM
forget_pid() { # drop a stopped pid from PIDS
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

fill() { # template output VAR=value...
  local tmpl=$1 out=$2; shift 2
  local args=() kv
  for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${args[@]}" "$tmpl" >"$out"
  ! grep -q '@[A-Z_]*@' "$out" || die "internal: unfilled placeholder in $out"
}

COMMANDS="$TMP/commands.txt"
note_cmd() { printf '%s\n' "$*" >>"$COMMANDS"; }
show_log() { [ -f "$1" ] && { echo "---- last lines of $1:" >&2; tail -n 30 "$1" >&2; echo "----" >&2; }; return 0; }

read -r BACKEND_PORT STATUS_PORT NGINX_PORT MARTELLO_HTTP_PORT MARTELLO_PORT ADMIN_PORT <<<"$("${LIB[@]}" ports 6)"
declare -A PORT=([nginx]=$NGINX_PORT [martello]=$MARTELLO_PORT)
declare -A PID=()
declare -A LOGS=([backend]="$TMP/backend-error.log" [nginx]="$TMP/nginx-tls-error.log" [martello]="$TMP/martello.log")
declare -A HOST_OF=([hs-ecdsa]=ecdsa.bench.local [hs-rsa]=rsa.bench.local [h2-m10]=ecdsa.bench.local [h2-m1]=ecdsa.bench.local)
declare -A CERT_OF=([ecdsa.bench.local]="$TMP/ecdsa.crt" [rsa.bench.local]="$TMP/rsa.crt")

# certificates (ECDSA P-256 and RSA-2048, self-signed, made now) and Martello's manifests
"$NODE" "$HERE/setup.ts" --out "$TMP" --backend-port "$BACKEND_PORT" || die "bench/tls/setup.ts failed"
note_cmd "node_modules/.bin/node bench/tls/setup.ts --out $TMP --backend-port $BACKEND_PORT   # ecdsa.crt/key, rsa.crt/key, manifests/bench.yaml"

# handshake client
HS_CLIENT="$TMP/handshake-load"
if has_case_kind hs; then
  (cd "$HERE" && GOCACHE="${GOCACHE:-$TMP/gocache}" GO111MODULE=off GOFLAGS= go build -o "$HS_CLIENT" handshake-load.go) \
    || die "could not build bench/tls/handshake-load.go"
  note_cmd "(cd bench/tls && GO111MODULE=off go build -o $HS_CLIENT handshake-load.go)"
fi

# a GET through proxy `port` for `host` over HTTP/1.1 or 2 must return the
# backend body, with the certificate made for that host (curl trusts only it)
https_ok() { # port host http-version-flag
  local out
  out=$(curl -s -m 3 "$3" --cacert "${CERT_OF[$2]}" --resolve "$2:$1:127.0.0.1" -w '\n%{http_code}' "https://$2:$1/" 2>/dev/null || true)
  [ "${out##*$'\n'}" = 200 ] && [ "${out%$'\n'*}" = "$BODY" ]
}
verify_proxy() { # name port
  local h v
  for h in ecdsa.bench.local rsa.bench.local; do
    for v in --http1.1 --http2; do
      https_ok "$2" "$h" "$v" || die "$1 does not serve https://$h/ ($v) with its certificate and the backend body"
    done
  done
}

# backend: nginx, 1 worker, on the load core (bench/conf/backend.nginx.conf.tmpl, shared with bench/run.sh)
mkdir -p "$TMP/backend-tmp"
fill "$BENCH/conf/backend.nginx.conf.tmpl" "$TMP/backend.conf" DIR="$TMP" BACKEND_PORT="$BACKEND_PORT" STATUS_PORT="$STATUS_PORT" BODY="$BODY"
note_cmd "taskset -c $LOAD_CPU nginx -p $TMP -e $TMP/backend-error.log -c $TMP/backend.conf -g 'daemon off;'   # backend (bench/conf/backend.nginx.conf.tmpl)"
taskset -c "$LOAD_CPU" nginx -p "$TMP" -e "$TMP/backend-error.log" -c "$TMP/backend.conf" -g 'daemon off;' >"$TMP/backend.out" 2>&1 &
PID[backend]=$!; PIDS+=("$!")
for _ in $(seq 50); do
  out=$(curl -s -m 2 "http://127.0.0.1:$BACKEND_PORT/" 2>/dev/null || true)
  [ "$out" = "$BODY" ] && break
  alive "${PID[backend]}" || break
  sleep 0.2
done
[ "$out" = "$BODY" ] || { show_log "$TMP/backend.out"; show_log "$TMP/backend-error.log"; die "backend failed"; }
log "backend nginx on 127.0.0.1:$BACKEND_PORT (CPU $LOAD_CPU), pid ${PID[backend]}"

start_nginx() {
  mkdir -p "$TMP/nginx-tls-tmp"
  fill "$HERE/proxy-tls.nginx.conf.tmpl" "$TMP/nginx-tls.conf" DIR="$TMP" PORT="$NGINX_PORT" BACKEND_PORT="$BACKEND_PORT"
  note_cmd "taskset -c $PROXY_CPU nginx -p $TMP -e $TMP/nginx-tls-error.log -c $TMP/nginx-tls.conf -g 'daemon off;'   # bench/tls/proxy-tls.nginx.conf.tmpl"
  taskset -c "$PROXY_CPU" nginx -p "$TMP" -e "$TMP/nginx-tls-error.log" -c "$TMP/nginx-tls.conf" -g 'daemon off;' \
    >"$TMP/nginx-tls.out" 2>&1 &
  PID[nginx]=$!; PIDS+=("$!")
  local deadline=$((SECONDS + 10))
  while [ $SECONDS -lt $deadline ]; do
    alive "${PID[nginx]}" || { show_log "$TMP/nginx-tls.out"; show_log "$TMP/nginx-tls-error.log"; die "nginx exited during start-up"; }
    https_ok "$NGINX_PORT" ecdsa.bench.local --http1.1 && break
    sleep 0.2
  done
  verify_proxy nginx "$NGINX_PORT"
}
start_martello() { # [NODE_OPTIONS value]
  # --access-log off: like the nginx under comparison (access_log off); the cost of Martello's
  # access log is measured on its own (docs/benchmarks.md, "Cost of metrics, access logs and tracing").
  local cmd=(taskset -c "$PROXY_CPU" "$ROOT/bin/martello" serve --manifests "$TMP/manifests" --workers 1
    --listen-http "127.0.0.1:$MARTELLO_HTTP_PORT" --listen-https "127.0.0.1:$MARTELLO_PORT" --listen-admin "127.0.0.1:$ADMIN_PORT"
    --access-log off)
  # shellcheck disable=SC2206
  [ -n "$MARTELLO_EXTRA" ] && cmd+=($MARTELLO_EXTRA)
  if [ -n "${1:-}" ]; then
    note_cmd "NODE_OPTIONS='$1' ${cmd[*]}   # profiling run"
    NODE_OPTIONS="$1" "${cmd[@]}" >>"$TMP/martello.log" 2>&1 &
  else
    note_cmd "${cmd[*]}   # manifests: written by bench/tls/setup.ts"
    "${cmd[@]}" >>"$TMP/martello.log" 2>&1 &
  fi
  PID[martello]=$!; PIDS+=("$!")
  local deadline=$((SECONDS + READY_TIMEOUT)) code=""
  while [ $SECONDS -lt $deadline ]; do
    alive "${PID[martello]}" || { show_log "$TMP/martello.log"; die "martello exited during start-up"; }
    code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/readyz" 2>/dev/null || true)
    [ "$code" = 200 ] && break
    sleep 0.25
  done
  [ "$code" = 200 ] || { show_log "$TMP/martello.log"; die "martello /readyz did not answer 200 within ${READY_TIMEOUT}s (last: ${code:-none})"; }
  verify_proxy martello "$MARTELLO_PORT"
}
stop_martello() { # [seconds to wait for a clean exit]
  local t0=$SECONDS pid=${PID[martello]}
  STOP_WAIT=${1:-10} stop_pids "$pid"
  forget_pid "$pid"
  log "martello (pid $pid) stopped $((SECONDS - t0)) s after SIGTERM"
}

for t in "${TARGET_LIST[@]}"; do
  "start_$t"
  log "$t on 127.0.0.1:${PORT[$t]} (CPU $PROXY_CPU), pid ${PID[$t]}: both hosts answer over HTTP/1.1 and HTTP/2 with their own certificate"
done

# What each proxy negotiates (protocol, cipher, group, signature, ALPN, certificate, tickets)
FACT_ARGS=()
for t in "${TARGET_LIST[@]}"; do
  for h in ecdsa.bench.local rsa.bench.local; do
    f="$TMP/sclient-$t-$h.txt"
    # keep stdin open briefly so the TLS 1.3 session tickets arrive before s_client quits
    { sleep 0.5; } | timeout 10 openssl s_client -connect "127.0.0.1:${PORT[$t]}" -servername "$h" -alpn h2,http/1.1 >"$f" 2>&1 || true
    openssl x509 -noout -fingerprint -sha256 <"$f" >>"$f" 2>/dev/null || true
    FACT_ARGS+=("$t:$h=$f")
  done
done
"${TLSLIB[@]}" tlsfacts "${FACT_ARGS[@]}" >"$TMP/facts.json"
note_cmd "{ sleep 0.5; } | openssl s_client -connect 127.0.0.1:<port> -servername <host> -alpn h2,http/1.1   # the 'negotiated' table"

# ------------------------------------------------------------ load

RUN_ID=tls-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BENCH/results"
RESULTS="$BENCH/results/$RUN_ID.jsonl"
: >"$RESULTS"
LOAD_TIMEOUT=$((DURATION + WARMUP + 30))

children_cpu_s() { # user+sys seconds of this shell's reaped children (bash 'times', 2nd line)
  times >"$TMP/times.txt"
  awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%.3f", s }' "$TMP/times.txt"
}
load_cmd() { # case target seconds -> the load command in LOAD_CMD, conns/streams in LC/LS
  local c=$1 t=$2 d=$3 host=${HOST_OF[$1]}
  case "$c" in
    hs-*) LC=$HS_CONNS; LS=1
      LOAD_CMD=(timeout "$LOAD_TIMEOUT" taskset -c "$LOAD_CPU" "$HS_CLIENT" -connect "127.0.0.1:${PORT[$t]}" -servername "$host" -conns "$HS_CONNS" -duration "${d}s" -timeout 5s) ;;
    h2-m*) LC=$H2_CONNS; LS=${c#h2-m}
      LOAD_CMD=(timeout "$LOAD_TIMEOUT" taskset -c "$LOAD_CPU" h2load -t 1 -c "$H2_CONNS" -m "$LS" -D "$d" -N 5 --connect-to "127.0.0.1:${PORT[$t]}" "https://$host/") ;;
  esac
}
one_run() { # case target seconds kind rep round [results]
  local c=$1 t=$2 d=$3 kind=$4 rep=$5 round=$6 results=${7:-$RESULTS} ec=0 probe=0 t0 t1
  local snap_args=("backend=${PID[backend]}" "$t=${PID[$t]}")
  load_cmd "$c" "$t" "$d"
  "${LIB[@]}" snap --status "http://127.0.0.1:$STATUS_PORT/" "${snap_args[@]}" >"$TMP/before.json"
  children_cpu_s >"$TMP/t0"; t0=$(<"$TMP/t0")
  "${LOAD_CMD[@]}" >"$TMP/load.out" 2>&1 &
  LOADPID=$!
  wait "$LOADPID" || ec=$?
  LOADPID=""
  children_cpu_s >"$TMP/t1"; t1=$(<"$TMP/t1")
  "${LIB[@]}" snap --status "http://127.0.0.1:$STATUS_PORT/" "${snap_args[@]}" >"$TMP/after.json"
  # a fresh request must still get through: catches a proxy wedged by the run
  https_ok "${PORT[$t]}" "${HOST_OF[$c]}" --http1.1 && probe=1
  "${TLSLIB[@]}" record --out "$results" --case "$c" --target "$t" --conns "$LC" --streams "$LS" --rep "$rep" --kind "$kind" \
    --before "$TMP/before.json" --after "$TMP/after.json" --load-out "$TMP/load.out" --load-exit "$ec" --probe-ok "$probe" \
    --round "$round" --load-cpu-s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
  alive "${PID[$t]}" || { show_log "${LOGS[$t]}"; die "$t died during the run"; }
  alive "${PID[backend]}" || { show_log "${LOGS[backend]}"; die "the backend died during the run"; }
}

for c in "${CASE_LIST[@]}"; do
  for t in "${TARGET_LIST[@]}"; do
    load_cmd "$c" "$t" "$DURATION"
    note_cmd "${LOAD_CMD[*]}   # $c, $t; after a ${WARMUP} s warm-up run of the same"
  done
done

n=${#TARGET_LIST[@]}
if [ "$REPS" -ge 1 ]; then
  total=$(( ${#CASE_LIST[@]} * n * (REPS * (DURATION + PAUSE + 2) + WARMUP + 2) ))
  log "targets: ${TARGET_LIST[*]}; cases: ${CASE_LIST[*]}; $REPS x ${DURATION}s interleaved; about $((total / 60 + 1)) min (more if contended rounds are repeated)"
  for c in "${CASE_LIST[@]}"; do
    if [ "$WARMUP" -gt 0 ]; then
      for t in "${TARGET_LIST[@]}"; do one_run "$c" "$t" "$WARMUP" warmup 0 "$c-warmup"; done
      sleep "$PAUSE"
    fi
    retries_left=$MAX_RETRIES
    attempt=1
    rep=1
    while [ "$rep" -le "$REPS" ]; do
      round="$c-rep$rep-try$attempt"
      [ "$QUIET_WAIT" -eq 0 ] || "${LIB[@]}" quiet --max-wait "$QUIET_WAIT"
      for ((k = 0; k < n; k++)); do
        t=${TARGET_LIST[$(((k + rep - 1) % n))]}
        one_run "$c" "$t" "$DURATION" run "$rep" "$round"
        sleep "$PAUSE"
      done
      if [ "$retries_left" -gt 0 ]; then
        if ! "${LIB[@]}" round-check --results "$RESULTS" --round "$round" --discard; then
          retries_left=$((retries_left - 1)); attempt=$((attempt + 1))
          continue
        fi
      else
        "${LIB[@]}" round-check --results "$RESULTS" --round "$round" || true
      fi
      rep=$((rep + 1)); attempt=1
    done
  done

  # ---------------------------------------------------------- report
  "${TLSLIB[@]}" meta --root "$ROOT" --node "$NODE" \
    --load-desc "per case and target ${REPS} x ${DURATION} s after a ${WARMUP} s warm-up, interleaved round-robin; proxies on CPU $PROXY_CPU, backend nginx and the load generator on CPU $LOAD_CPU; 100-byte body, HTTP/1.1 keep-alive to the backend; handshakes: $HS_CONNS connection loops, Connection: close; HTTP/2: $H2_CONNS connections" \
    >"$TMP/meta.json"
  cp "$TMP/meta.json" "$BENCH/results/$RUN_ID.meta.json"
  cp "$TMP/facts.json" "$BENCH/results/$RUN_ID.facts.json"
  cp "$COMMANDS" "$BENCH/results/$RUN_ID.commands.txt"
  # re-render later with: python3 bench/tls/tlslib.py report --results bench/results/ID.jsonl --meta bench/results/ID.meta.json \
  #   --facts bench/results/ID.facts.json --commands bench/results/ID.commands.txt [--docs docs/benchmarks.md]
  report=("${TLSLIB[@]}" report --results "$RESULTS" --meta "$TMP/meta.json" --facts "$TMP/facts.json" --commands "$COMMANDS")
  [ "$WRITE_DOCS" = 1 ] && report+=(--docs "$DOCS")
  echo
  "${report[@]}" | tee "$BENCH/results/$RUN_ID.md"
  log "raw results: ${RESULTS#"$ROOT"/}"
fi

# ------------------------------------------------------------ profiles

if [ -n "$CPU_PROF" ]; then
  mkdir -p "$CPU_PROF"
  CPU_PROF=$(cd "$CPU_PROF" && pwd)
  PROF_RESULTS="$BENCH/results/$RUN_ID.profile.jsonl"
  for c in "${CASE_LIST[@]}"; do
    [ -z "${PID[martello]:-}" ] || ! alive "${PID[martello]}" || stop_martello 120
    pdir="$TMP/prof-$c"
    mkdir -p "$pdir"
    start_martello "--cpu-prof --cpu-prof-dir=$pdir"
    log "profiling martello, case $c: ${WARMUP}s warm-up + ${DURATION}s"
    [ "$WARMUP" -gt 0 ] && one_run "$c" martello "$WARMUP" warmup 0 "$c-profile-warmup" "$PROF_RESULTS"
    one_run "$c" martello "$DURATION" profile 1 "$c-profile" "$PROF_RESULTS"
    # SIGTERM: Martello exits cleanly and Node writes the profile. After
    # HTTP/2 load Martello has been seen to wait for the backend to close its
    # idle keep-alive connections (65 s) before exiting, so allow for that.
    stop_martello 120
    i=0
    for f in "$pdir"/*.cpuprofile; do
      [ -f "$f" ] || { log "no profile written for $c (did Martello exit cleanly?)"; continue; }
      i=$((i + 1))
      dest="$CPU_PROF/martello-$c-$i.cpuprofile"
      mv "$f" "$dest"
      echo
      "${TLSLIB[@]}" cpuprofile "$dest" --root "$ROOT" --top 20 --label "martello $c (process $i; start-up, ${WARMUP}s warm-up and ${DURATION}s of load)" \
        | tee "${dest%.cpuprofile}.md"
    done
  done
  log "profiles in $CPU_PROF (open them in Chrome DevTools or VS Code)"
fi
