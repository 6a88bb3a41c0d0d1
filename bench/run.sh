#!/usr/bin/env bash
# Side-by-side reverse-proxy benchmark: nginx, HAProxy and Martello, each on
# one pinned core, in front of the same nginx backend, driven by wrk.
# Method and results: docs/benchmarks.md. Usage: bash bench/run.sh --help
#
# Everything listens on 127.0.0.1 only; every load run is bounded by
# `timeout`; every process started here is killed by PID on exit (also on
# Ctrl-C) and the temp dir under /tmp is removed.

set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
NODE="$ROOT/node_modules/.bin/node"
LIB=(python3 "$BENCH/benchlib.py")

TARGETS="nginx,haproxy,martello"
REPS=3
CONNS="50,200"
DURATION=10
WARMUP=3
PAUSE=2
PROXY_CPU=0
LOAD_CPU=1
DOCS="$ROOT/docs/benchmarks.md"
WRITE_DOCS=1
INSTALL=0
CHECK_ONLY=0
READY_TIMEOUT=30
BAR=0.2
MARTELLO_EXTRA=""
MARKERS="results"
BASE_ROOT=""
MAX_RETRIES=""   # default: --reps
QUIET_WAIT=60    # before each round, wait up to this long for other work to stop
HOST_HEADER="bench.local"
# 100 bytes exactly (checked below).
BODY="martello-bench backend ok: fixed body of one hundred bytes for proxy comparisons...................."

usage() {
  cat <<EOF
Usage: bash bench/run.sh [options]        (npm run bench -- [options])

Benchmarks reverse proxies pinned to CPU $PROXY_CPU against one nginx backend
(CPU $LOAD_CPU) with wrk (CPU $LOAD_CPU), keep-alive on both sides, 100-byte body.

Options:
  --targets LIST     comma-separated subset of nginx,haproxy,martello,martello-quiet,martello-base
                     (default $TARGETS). martello-quiet: Martello with --access-log off
                     --no-trace-create (metrics stay on); martello-base: the Martello checkout
                     given by --base-root (e.g. a git worktree of an older commit)
  --reps N           measured repetitions per target and concurrency (default $REPS)
  --conns LIST       wrk connection counts (default $CONNS)
  --duration S       seconds per measured run (default $DURATION)
  --warmup S         warm-up seconds per target and concurrency (default $WARMUP)
  --pause S          idle seconds between runs (default $PAUSE)
  --docs FILE        Markdown page to update between the bench:results markers
  --markers NAME     update between the bench:NAME markers instead (default results)
  --base-root DIR    the checkout martello-base runs (with its node_modules)
                     (default docs/benchmarks.md)
  --no-docs          print the results only; do not touch the docs page
  --bar X            Martello/nginx req/s ratio to report against (default $BAR)
  --martello-args S  extra arguments appended to 'martello serve' (e.g. "--log-level warn")
  --max-retries N    repeat at most N rounds per connection count in which other
                     processes plus hypervisor steal took more than --max-foreign of
                     CPU 0 or CPU 1 (default: --reps)
  --max-foreign F    that share, as a fraction (default 0.15)
  --quiet-wait S     before each round, wait up to S seconds until other processes leave
                     both CPUs nearly idle (default $QUIET_WAIT; 0 = do not wait)
  --check            only check the prerequisites and exit
  --install          apt-get install the missing Debian packages first (needs root)
  -h, --help         this text

Raw per-run results (JSON lines) and the Markdown table are also kept in
bench/results/ (git-ignored).
EOF
}

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --targets) TARGETS=${2:?}; shift 2 ;;
    --reps) REPS=${2:?}; shift 2 ;;
    --conns) CONNS=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --pause) PAUSE=${2:?}; shift 2 ;;
    --docs) DOCS=${2:?}; shift 2 ;;
    --markers) MARKERS=${2:?}; shift 2 ;;
    --base-root) BASE_ROOT=${2:?}; shift 2 ;;
    --no-docs) WRITE_DOCS=0; shift ;;
    --bar) BAR=${2:?}; shift 2 ;;
    --martello-args) MARTELLO_EXTRA=${2?}; shift 2 ;;
    --max-retries) MAX_RETRIES=${2:?}; shift 2 ;;
    --max-foreign) export BENCH_MAX_FOREIGN=${2:?}; shift 2 ;;
    --quiet-wait) QUIET_WAIT=${2:?}; shift 2 ;;
    --check) CHECK_ONLY=1; shift ;;
    --install) INSTALL=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
is_uint "$REPS" && [ "$REPS" -ge 1 ] || die "--reps must be a positive integer"
is_uint "$DURATION" && [ "$DURATION" -ge 1 ] || die "--duration must be a positive integer"
is_uint "$WARMUP" || die "--warmup must be an integer"
is_uint "$PAUSE" || die "--pause must be an integer"
[ -n "$MAX_RETRIES" ] || MAX_RETRIES=$REPS
is_uint "$MAX_RETRIES" || die "--max-retries must be an integer"
is_uint "$QUIET_WAIT" || die "--quiet-wait must be an integer"
IFS=, read -r -a TARGET_LIST <<<"$TARGETS"
IFS=, read -r -a CONN_LIST <<<"$CONNS"
[ ${#TARGET_LIST[@]} -ge 1 ] || die "--targets is empty"
for t in "${TARGET_LIST[@]}"; do
  case "$t" in nginx|haproxy|martello|martello-quiet) ;;
    martello-base) [ -n "$BASE_ROOT" ] && [ -x "$BASE_ROOT/bin/martello" ] || die "martello-base needs --base-root DIR with bin/martello" ;;
    *) die "unknown target '$t' (use nginx, haproxy, martello, martello-quiet, martello-base)" ;; esac
done
for c in "${CONN_LIST[@]}"; do is_uint "$c" && [ "$c" -ge 1 ] || die "bad connection count '$c'"; done
has_target() { local t; for t in "${TARGET_LIST[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }
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
  need_cmd haproxy haproxy "Debian: apt-get install haproxy"
  need_cmd wrk wrk "Debian: apt-get install wrk"
  need_cmd taskset util-linux "Debian: apt-get install util-linux"
  need_cmd timeout coreutils "Debian: apt-get install coreutils"
  need_cmd curl curl "Debian: apt-get install curl"
  need_cmd python3 python3 "the results summariser bench/benchlib.py needs Python 3"
  if has_target martello; then
    if [ ! -x "$NODE" ]; then
      missing+=("node_modules/.bin/node: missing (Node.js 26 runtime of the project; run 'npm ci')")
    fi
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
  for m in "${missing[@]}"; do echo "bench: missing prerequisite: $m" >&2; done
  [ ${#missing_pkgs[@]} -gt 0 ] && echo "bench: 'bash bench/run.sh --install' apt-gets the Debian packages (as root)" >&2
  exit 1
fi
if [ "$CHECK_ONLY" = 1 ]; then
  echo "bench: all prerequisites present: nginx haproxy wrk taskset timeout curl python3$(has_target martello && echo ' node_modules/.bin/node bin/martello')"
  exit 0
fi
# HAProxy's maxconn 9000 and 2 x 200 connections fit; raise the soft fd limit anyway.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ------------------------------------------------------------ processes + cleanup

TMP=$(mktemp -d /tmp/martello-bench.XXXXXX)
chmod 755 "$TMP" # nginx workers run as 'nobody'
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
stop_pids() { # TERM, wait up to 5 s, then KILL; reap our direct children
  local all=() p i
  for p in "$@"; do
    [ -n "$p" ] || continue
    all+=("$p")
    while read -r i; do [ -n "$i" ] && all+=("$i"); done < <(descendants "$p")
  done
  [ ${#all[@]} -gt 0 ] || return 0
  kill -TERM "${all[@]}" 2>/dev/null || true
  for _ in $(seq 50); do
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
  # stop in reverse start order: proxies first, backend last
  local rev=() i
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do rev+=("${PIDS[i]}"); done
  [ ${#rev[@]} -gt 0 ] && stop_pids "${rev[@]}"
  if [ -n "${KEEP_TMP:-}" ]; then log "kept temp dir $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

fill() { # template output VAR=value...
  local tmpl=$1 out=$2; shift 2
  local args=() kv
  for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${args[@]}" "$tmpl" >"$out"
  ! grep -q '@[A-Z_]*@' "$out" || die "internal: unfilled placeholder in $out"
}

COMMANDS="$TMP/commands.txt"
note_cmd() { printf '%s\n' "$*" >>"$COMMANDS"; }

http_get() { # url -> "CODE BODY" (empty on failure)
  curl -s -m 3 -H "Host: $HOST_HEADER" -w '\n%{http_code}' "$1" 2>/dev/null || true
}
wait_http() { # name url pid timeout_s -> 0 once a GET answers 200 with BODY
  local name=$1 url=$2 pid=$3 limit=$4 deadline out
  deadline=$((SECONDS + limit))
  while [ $SECONDS -lt $deadline ]; do
    alive "$pid" || { log "$name exited during start-up"; return 1; }
    out=$(http_get "$url")
    if [ "${out##*$'\n'}" = 200 ] && [ "${out%$'\n'*}" = "$BODY" ]; then return 0; fi
    sleep 0.2
  done
  log "$name did not answer 200 with the backend body at $url within ${limit}s (last: ${out:-no answer})"
  return 1
}
show_log() { [ -f "$1" ] && { echo "---- last lines of $1:" >&2; tail -n 30 "$1" >&2; echo "----" >&2; }; return 0; }

read -r BACKEND_PORT NGINX_PORT HAPROXY_PORT MARTELLO_PORT ADMIN_PORT STATUS_PORT QUIET_PORT QUIET_ADMIN BASE_PORT BASE_ADMIN <<<"$("${LIB[@]}" ports 10)"
declare -A PORT=([nginx]=$NGINX_PORT [haproxy]=$HAPROXY_PORT [martello]=$MARTELLO_PORT [martello-quiet]=$QUIET_PORT [martello-base]=$BASE_PORT)
declare -A PID=()
declare -A LOGS=([backend]="$TMP/backend-error.log" [nginx]="$TMP/nginx-proxy-error.log" [haproxy]="$TMP/haproxy.out" [martello]="$TMP/martello.log")

# backend: nginx, 1 worker, on the load core
mkdir -p "$TMP/backend-tmp"
fill "$BENCH/conf/backend.nginx.conf.tmpl" "$TMP/backend.conf" DIR="$TMP" BACKEND_PORT="$BACKEND_PORT" STATUS_PORT="$STATUS_PORT" BODY="$BODY"
note_cmd "taskset -c $LOAD_CPU nginx -p $TMP -e $TMP/backend-error.log -c $TMP/backend.conf -g 'daemon off;'   # backend (bench/conf/backend.nginx.conf.tmpl)"
taskset -c "$LOAD_CPU" nginx -p "$TMP" -e "$TMP/backend-error.log" -c "$TMP/backend.conf" -g 'daemon off;' \
  >"$TMP/backend.out" 2>&1 &
PID[backend]=$!; PIDS+=("$!")
wait_http backend "http://127.0.0.1:$BACKEND_PORT/" "${PID[backend]}" 10 || { show_log "$TMP/backend.out"; show_log "$TMP/backend-error.log"; die "backend failed"; }
log "backend nginx on 127.0.0.1:$BACKEND_PORT (CPU $LOAD_CPU), pid ${PID[backend]}"

start_nginx() {
  mkdir -p "$TMP/nginx-proxy-tmp"
  fill "$BENCH/conf/proxy.nginx.conf.tmpl" "$TMP/proxy-nginx.conf" DIR="$TMP" PORT="$NGINX_PORT" BACKEND_PORT="$BACKEND_PORT"
  note_cmd "taskset -c $PROXY_CPU nginx -p $TMP -e $TMP/nginx-proxy-error.log -c $TMP/proxy-nginx.conf -g 'daemon off;'   # bench/conf/proxy.nginx.conf.tmpl"
  taskset -c "$PROXY_CPU" nginx -p "$TMP" -e "$TMP/nginx-proxy-error.log" -c "$TMP/proxy-nginx.conf" -g 'daemon off;' \
    >"$TMP/nginx-proxy.out" 2>&1 &
  PID[nginx]=$!; PIDS+=("$!")
  wait_http nginx "http://127.0.0.1:$NGINX_PORT/" "${PID[nginx]}" 10 || { show_log "$TMP/nginx-proxy.out"; show_log "$TMP/nginx-proxy-error.log"; die "nginx proxy failed"; }
}
start_haproxy() {
  fill "$BENCH/conf/haproxy.cfg.tmpl" "$TMP/haproxy.cfg" PORT="$HAPROXY_PORT" BACKEND_PORT="$BACKEND_PORT"
  note_cmd "taskset -c $PROXY_CPU haproxy -db -f $TMP/haproxy.cfg   # bench/conf/haproxy.cfg.tmpl"
  taskset -c "$PROXY_CPU" haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.out" 2>&1 &
  PID[haproxy]=$!; PIDS+=("$!")
  wait_http haproxy "http://127.0.0.1:$HAPROXY_PORT/" "${PID[haproxy]}" 10 || { show_log "$TMP/haproxy.out"; die "haproxy failed"; }
}
start_martello_variant() { # name root port admin-port extra-args...
  local name=$1 root=$2 port=$3 admin=$4; shift 4
  mkdir -p "$TMP/manifests"
  fill "$BENCH/conf/martello-manifests.yaml.tmpl" "$TMP/manifests/bench.yaml" BACKEND_PORT="$BACKEND_PORT"
  # --keep-alive-requests 1000000: as the nginx proxy's keepalive_requests (HAProxy has no such
  # limit); Martello's default (1000, ingress-nginx's) would reconnect every wrk connection each
  # 1000 requests where the others do not.
  local cmd=(taskset -c "$PROXY_CPU" "$root/bin/martello" serve --manifests "$TMP/manifests" --workers 1
    --listen-http "127.0.0.1:$port" --listen-https 127.0.0.1:0 --listen-admin "127.0.0.1:$admin" --keep-alive-requests 1000000 "$@")
  # shellcheck disable=SC2206
  [ -n "$MARTELLO_EXTRA" ] && cmd+=($MARTELLO_EXTRA)
  note_cmd "${cmd[*]}   # $name; manifests: bench/conf/martello-manifests.yaml.tmpl"
  # The access log (stdout) goes to a file, as a log shipper would read it.
  "${cmd[@]}" >"$TMP/$name.log" 2>"$TMP/$name.err" &
  PID[$name]=$!; PIDS+=("$!"); LOGS[$name]="$TMP/$name.err"
  local deadline=$((SECONDS + READY_TIMEOUT)) code=""
  while [ $SECONDS -lt $deadline ]; do
    alive "${PID[$name]}" || { show_log "$TMP/$name.err"; die "$name exited during start-up"; }
    code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin/readyz" 2>/dev/null || true)
    [ "$code" = 200 ] && break
    sleep 0.25
  done
  [ "$code" = 200 ] || { show_log "$TMP/$name.err"; die "$name /readyz did not answer 200 within ${READY_TIMEOUT}s (last: ${code:-none})"; }
  wait_http "$name" "http://127.0.0.1:$port/" "${PID[$name]}" 10 || { show_log "$TMP/$name.err"; die "$name does not proxy bench.local to the backend"; }
}
start_martello() { start_martello_variant martello "$ROOT" "$MARTELLO_PORT" "$ADMIN_PORT"; }
start_martello-quiet() { start_martello_variant martello-quiet "$ROOT" "$QUIET_PORT" "$QUIET_ADMIN" --access-log off --no-trace-create; }
start_martello-base() { start_martello_variant martello-base "$BASE_ROOT" "$BASE_PORT" "$BASE_ADMIN"; }

for t in "${TARGET_LIST[@]}"; do
  "start_$t"
  log "$t on 127.0.0.1:${PORT[$t]} (CPU $PROXY_CPU), pid ${PID[$t]}: verified one request returns the backend body"
done

# ------------------------------------------------------------ load

RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BENCH/results"
RESULTS="$BENCH/results/$RUN_ID.jsonl"
: >"$RESULTS"
SNAP_ARGS=("backend=${PID[backend]}")
for t in "${TARGET_LIST[@]}"; do SNAP_ARGS+=("$t=${PID[$t]}"); done
WRK_TIMEOUT=$((DURATION + WARMUP + 20))
note_cmd "timeout $WRK_TIMEOUT taskset -c $LOAD_CPU wrk -t1 -c<C> -d${DURATION}s --latency --timeout 5s -H 'Host: $HOST_HEADER' http://127.0.0.1:<port>/   # C in {$CONNS}; ${WARMUP}s warm-up per target first"

children_cpu_s() { # user+sys seconds of this shell's reaped children (bash 'times', 2nd line)
  # 'times' must run in this shell, not in a pipeline's subshell
  times >"$TMP/times.txt"
  awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%.3f", s }' "$TMP/times.txt"
}
one_run() { # target conns seconds kind rep round
  local t=$1 c=$2 d=$3 kind=$4 rep=$5 round=$6 ec=0 probe=0 out
  "${LIB[@]}" snap --status "http://127.0.0.1:$STATUS_PORT/" "${SNAP_ARGS[@]}" >"$TMP/before.json"
  local t0 t1
  children_cpu_s >"$TMP/t0"; t0=$(<"$TMP/t0")
  timeout "$WRK_TIMEOUT" taskset -c "$LOAD_CPU" wrk -t1 -c"$c" -d"${d}s" --latency --timeout 5s \
    -H "Host: $HOST_HEADER" "http://127.0.0.1:${PORT[$t]}/" >"$TMP/wrk.out" 2>&1 &
  LOADPID=$!
  wait "$LOADPID" || ec=$?
  LOADPID=""
  children_cpu_s >"$TMP/t1"; t1=$(<"$TMP/t1")
  "${LIB[@]}" snap --status "http://127.0.0.1:$STATUS_PORT/" "${SNAP_ARGS[@]}" >"$TMP/after.json"
  # a fresh request must still get through: catches a proxy wedged by the run
  out=$(http_get "http://127.0.0.1:${PORT[$t]}/")
  [ "${out##*$'\n'}" = 200 ] && [ "${out%$'\n'*}" = "$BODY" ] && probe=1
  "${LIB[@]}" record --out "$RESULTS" --target "$t" --conns "$c" --rep "$rep" --kind "$kind" \
    --before "$TMP/before.json" --after "$TMP/after.json" --wrk "$TMP/wrk.out" --wrk-exit "$ec" --probe-ok "$probe" --round "$round" \
    --load-cpu-s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
  alive "${PID[$t]}" || { show_log "${LOGS[$t]}"; die "$t died during the run"; }
  alive "${PID[backend]}" || { show_log "${LOGS[backend]}"; die "the backend died during the run"; }
}

n=${#TARGET_LIST[@]}
total=$(( ${#CONN_LIST[@]} * n * (REPS * (DURATION + PAUSE + 1) + WARMUP + 1) ))
log "targets: ${TARGET_LIST[*]}; connections: ${CONN_LIST[*]}; $REPS x ${DURATION}s interleaved; about $((total / 60 + 1)) min (more if contended rounds are repeated, up to $MAX_RETRIES per connection count)"
for c in "${CONN_LIST[@]}"; do
  if [ "$WARMUP" -gt 0 ]; then
    for t in "${TARGET_LIST[@]}"; do one_run "$t" "$c" "$WARMUP" warmup 0 "c$c-warmup"; done
    sleep "$PAUSE"
  fi
  retries_left=$MAX_RETRIES
  attempt=1
  rep=1
  while [ "$rep" -le "$REPS" ]; do
    round="c$c-rep$rep-try$attempt"
    [ "$QUIET_WAIT" -eq 0 ] || "${LIB[@]}" quiet --max-wait "$QUIET_WAIT"
    # round-robin, starting one target later each repetition to spread drift
    for ((k = 0; k < n; k++)); do
      t=${TARGET_LIST[$(((k + rep - 1) % n))]}
      one_run "$t" "$c" "$DURATION" run "$rep" "$round"
      sleep "$PAUSE"
    done
    # a round in which other processes took a share of CPU 0 is repeated
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

# ------------------------------------------------------------ report

"${LIB[@]}" meta --root "$ROOT" --node "$NODE" \
  --load-desc "wrk -t1, connections ${CONNS//,/ and }, ${REPS} x ${DURATION} s per target and concurrency after a ${WARMUP} s warm-up, interleaved round-robin; proxies on CPU $PROXY_CPU, backend nginx and wrk on CPU $LOAD_CPU; 100-byte body, keep-alive both sides" \
  >"$TMP/meta.json"
cp "$TMP/meta.json" "$BENCH/results/$RUN_ID.meta.json"
cp "$COMMANDS" "$BENCH/results/$RUN_ID.commands.txt"
# re-render later with: python3 bench/benchlib.py report --results bench/results/ID.jsonl \
#   --meta bench/results/ID.meta.json --commands bench/results/ID.commands.txt [--docs docs/benchmarks.md]
report=("${LIB[@]}" report --results "$RESULTS" --meta "$TMP/meta.json" --commands "$COMMANDS" --bar "$BAR" --markers "$MARKERS")
[ "$WRITE_DOCS" = 1 ] && report+=(--docs "$DOCS")
echo
"${report[@]}" | tee "$BENCH/results/$RUN_ID.md"
log "raw results: ${RESULTS#"$ROOT"/}"
