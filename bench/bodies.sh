#!/usr/bin/env bash
# Large bodies and memory: nginx, HAProxy and Martello as streaming reverse
# proxies, each on CPU 0, in front of one nginx backend on CPU 1 serving a
# 16 KiB and a 100 MB file, and an upload sink (bench/bodies/upload-sink.ts,
# Node.js, CPU 1) that reads and drops 100 MB request bodies. Measures 16 KiB
# req/s and MB/s (wrk, c50), 100 MB download and upload MB/s (curl), and each
# proxy's RSS idle, at its peak under each load, and after.
# Method and results: docs/benchmarks.md, "Large bodies and memory".
# Usage: bash bench/bodies.sh --help
#
# Same conventions as bench/run.sh: everything on 127.0.0.1; every load run
# bounded by `timeout`; every process started here is killed by PID on exit
# (also on Ctrl-C) and the temp dir under /tmp is removed.

set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
CONF="$BENCH/bodies"
NODE="$ROOT/node_modules/.bin/node"
LIB=(python3 "$BENCH/benchlib.py")
BLIB=(python3 "$CONF/bodieslib.py")

TARGETS="nginx,haproxy,martello"
REPS=3
CONNS=50
DURATION=10
WARMUP=3
PAUSE=2
PROXY_CPU=0
LOAD_CPU=1
DOCS="$ROOT/docs/benchmarks.md"
WRITE_DOCS=1
CHECK_ONLY=0
READY_TIMEOUT=30
BAR=0.8
FLAT_MB=32
MARTELLO_EXTRA=""
QUIET_WAIT=60
TRANSFERS=5        # 100 MB transfers per measured run (one curl each, back to back)
XFER_TIMEOUT=60    # seconds allowed per 100 MB transfer
SETTLE=3           # seconds idle before the idle and "after" RSS readings
INTERVAL=0.05      # RSS sampling period, seconds
HOST_HEADER="bench.local"
BIG=104857600      # 100 MiB
SMALL=16384

usage() {
  cat <<EOF
Usage: bash bench/bodies.sh [options]

Streaming reverse proxies pinned to CPU $PROXY_CPU, one nginx backend and an upload
sink on CPU $LOAD_CPU, load (wrk, curl) on CPU $LOAD_CPU. Cases: 16 KiB GET (wrk -c$CONNS,
keep-alive), 100 MB download and 100 MB upload (curl; $TRANSFERS transfers back to back per
run, MB/s = bytes / summed transfer times).
Also samples each proxy's RSS (VmRSS summed over its processes) idle, during
each run (every ${INTERVAL}s) and after the load.

Options:
  --targets LIST     comma-separated subset of nginx,haproxy,martello (default $TARGETS)
  --reps N           measured repetitions per target and case (default $REPS)
  --duration S       seconds per measured 16 KiB run (default $DURATION)
  --warmup S         16 KiB warm-up seconds per target (default $WARMUP; one 100 MB
                     download and upload per target are also run unmeasured)
  --pause S          idle seconds between runs (default $PAUSE)
  --transfers N      100 MB transfers per measured run (default $TRANSFERS)
  --quiet-wait S     before each round, wait up to S seconds until other processes leave
                     both CPUs nearly idle (default $QUIET_WAIT; 0 = do not wait)
  --docs FILE        Markdown page to update between the bench:bodies markers
                     (default docs/benchmarks.md)
  --no-docs          print the results only; do not touch the docs page
  --bar X            Martello/nginx throughput ratio to report against (default $BAR)
  --flat-mb M        "flat memory": peak - idle and after - idle both <= M MiB (default $FLAT_MB)
  --martello-args S  extra arguments appended to 'martello serve' (e.g. "--access-log off")
  --check            only check the prerequisites and exit
  -h, --help         this text

Raw per-run results (JSON lines) and the Markdown are also kept in
bench/results/bodies-* (git-ignored).
EOF
}

die() { echo "bodies: $*" >&2; exit 1; }
log() { echo "bodies: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --targets) TARGETS=${2:?}; shift 2 ;;
    --reps) REPS=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --pause) PAUSE=${2:?}; shift 2 ;;
    --transfers) TRANSFERS=${2:?}; shift 2 ;;
    --quiet-wait) QUIET_WAIT=${2:?}; shift 2 ;;
    --docs) DOCS=${2:?}; shift 2 ;;
    --no-docs) WRITE_DOCS=0; shift ;;
    --bar) BAR=${2:?}; shift 2 ;;
    --flat-mb) FLAT_MB=${2:?}; shift 2 ;;
    --martello-args) MARTELLO_EXTRA=${2?}; shift 2 ;;
    --check) CHECK_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
is_uint "$REPS" && [ "$REPS" -ge 1 ] || die "--reps must be a positive integer"
is_uint "$DURATION" && [ "$DURATION" -ge 1 ] || die "--duration must be a positive integer"
is_uint "$WARMUP" || die "--warmup must be an integer"
is_uint "$PAUSE" || die "--pause must be an integer"
is_uint "$TRANSFERS" && [ "$TRANSFERS" -ge 1 ] || die "--transfers must be a positive integer"
is_uint "$QUIET_WAIT" || die "--quiet-wait must be an integer"
IFS=, read -r -a TARGET_LIST <<<"$TARGETS"
[ ${#TARGET_LIST[@]} -ge 1 ] || die "--targets is empty"
for t in "${TARGET_LIST[@]}"; do
  case "$t" in nginx|haproxy|martello) ;; *) die "unknown target '$t' (use nginx, haproxy, martello)" ;; esac
done
has_target() { local t; for t in "${TARGET_LIST[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

# ------------------------------------------------------------ prerequisites

missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$1: not found on PATH ($2)"); return 0; }
need_cmd nginx "Debian: apt-get install nginx-light (or nginx)"
if has_target haproxy; then need_cmd haproxy "Debian: apt-get install haproxy"; fi
need_cmd wrk "Debian: apt-get install wrk"
need_cmd curl "Debian: apt-get install curl"
need_cmd taskset "Debian: apt-get install util-linux"
need_cmd timeout "Debian: apt-get install coreutils"
need_cmd python3 "bench/benchlib.py and bench/bodies/bodieslib.py need Python 3"
# the upload sink runs on the project's Node.js even without the martello target
[ -x "$NODE" ] || missing+=("node_modules/.bin/node: missing (Node.js 26 runtime of the project, for Martello and the upload sink; run 'npm ci')")
if has_target martello; then [ -x "$ROOT/bin/martello" ] || missing+=("bin/martello: missing or not executable"); fi
cpus=$(nproc 2>/dev/null || echo 1)
if [ "$cpus" -le "$PROXY_CPU" ] || [ "$cpus" -le "$LOAD_CPU" ]; then
  missing+=("CPUs: need CPUs $PROXY_CPU and $LOAD_CPU, this machine has $cpus")
fi
df_mb=$(df -Pm /tmp | awk 'NR == 2 { print $4 }')
[ "${df_mb:-0}" -ge 300 ] || missing+=("/tmp: needs 300 MB free for the 100 MB test file, has ${df_mb:-?} MB")
if [ ${#missing[@]} -gt 0 ]; then
  for m in "${missing[@]}"; do echo "bodies: missing prerequisite: $m" >&2; done
  exit 1
fi
if [ "$CHECK_ONLY" = 1 ]; then
  echo "bodies: all prerequisites present: nginx$(has_target haproxy && echo ' haproxy') wrk curl taskset timeout python3 node_modules/.bin/node$(has_target martello && echo ' bin/martello'), CPUs $PROXY_CPU and $LOAD_CPU, ${df_mb} MB free in /tmp"
  exit 0
fi
if [ "$WRITE_DOCS" = 1 ]; then
  grep -q '<!-- bench:bodies:start -->' "$DOCS" && grep -q '<!-- bench:bodies:end -->' "$DOCS" \
    || die "$DOCS has no bench:bodies markers (use --no-docs or --docs FILE)"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ------------------------------------------------------------ processes + cleanup

TMP=$(mktemp -d /tmp/martello-bodies.XXXXXX)
chmod 755 "$TMP" # nginx workers run as 'nobody'
PIDS=()      # every long-lived background process started here, in start order
LOADPID=""   # the running load tool (wrk or curl), if any
WATCHPID=""  # the running RSS sampler, if any

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
  if [ -n "$WATCHPID" ]; then stop_pids "$WATCHPID"; fi
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
show_log() { [ -f "$1" ] && { echo "---- last lines of $1:" >&2; tail -n 30 "$1" >&2; echo "----" >&2; }; return 0; }

size_of() { # url -> "CODE SIZE" of a GET (empty on failure)
  curl -s -m 10 -o /dev/null -H "Host: $HOST_HEADER" -w '%{http_code} %{size_download}' "$1" 2>/dev/null || true
}
wait_size() { # name url pid timeout_s size -> 0 once a GET answers 200 with that many bytes
  local name=$1 url=$2 pid=$3 limit=$4 want=$5 deadline out=""
  deadline=$((SECONDS + limit))
  while [ $SECONDS -lt $deadline ]; do
    alive "$pid" || { log "$name exited during start-up"; return 1; }
    out=$(size_of "$url")
    [ "$out" = "200 $want" ] && return 0
    sleep 0.2
  done
  log "$name did not answer 200 with $want bytes at $url within ${limit}s (last: ${out:-no answer})"
  return 1
}

read -r BACKEND_PORT SINK_PORT NGINX_PORT HAPROXY_PORT MARTELLO_PORT ADMIN_PORT <<<"$("${LIB[@]}" ports 6)"
declare -A PORT=([nginx]=$NGINX_PORT [haproxy]=$HAPROXY_PORT [martello]=$MARTELLO_PORT)
declare -A PID=()
declare -A LOGS=([backend]="$TMP/backend-error.log" [sink]="$TMP/sink.log" [nginx]="$TMP/nginx-proxy-error.log" [haproxy]="$TMP/haproxy.out" [martello]="$TMP/martello.log")

# test files: random bytes, so nothing on the way can compress them
mkdir -p "$TMP/files" "$TMP/backend-tmp" "$TMP/nginx-proxy-tmp"
head -c "$SMALL" /dev/urandom >"$TMP/files/16k"
head -c "$BIG" /dev/urandom >"$TMP/files/100m"
chmod 644 "$TMP/files/16k" "$TMP/files/100m"
note_cmd "head -c $SMALL /dev/urandom >$TMP/files/16k; head -c $BIG /dev/urandom >$TMP/files/100m"

# backend: nginx, 1 worker, on the load core
fill "$CONF/backend.nginx.conf.tmpl" "$TMP/backend.conf" DIR="$TMP" BACKEND_PORT="$BACKEND_PORT"
note_cmd "taskset -c $LOAD_CPU nginx -p $TMP -e $TMP/backend-error.log -c $TMP/backend.conf -g 'daemon off;'   # backend (bench/bodies/backend.nginx.conf.tmpl)"
taskset -c "$LOAD_CPU" nginx -p "$TMP" -e "$TMP/backend-error.log" -c "$TMP/backend.conf" -g 'daemon off;' \
  >"$TMP/backend.out" 2>&1 &
PID[backend]=$!; PIDS+=("$!")
wait_size backend "http://127.0.0.1:$BACKEND_PORT/16k" "${PID[backend]}" 10 "$SMALL" || { show_log "$TMP/backend.out"; show_log "$TMP/backend-error.log"; die "backend failed"; }
log "backend nginx on 127.0.0.1:$BACKEND_PORT (CPU $LOAD_CPU), pid ${PID[backend]}"

# upload sink: Node.js, on the load core
note_cmd "taskset -c $LOAD_CPU node_modules/.bin/node bench/bodies/upload-sink.ts --port $SINK_PORT   # upload backend"
taskset -c "$LOAD_CPU" "$NODE" "$CONF/upload-sink.ts" --port "$SINK_PORT" >"$TMP/sink.log" 2>&1 &
PID[sink]=$!; PIDS+=("$!")
wait_size sink "http://127.0.0.1:$SINK_PORT/upload" "${PID[sink]}" 10 11 || { show_log "$TMP/sink.log"; die "upload sink failed"; }
log "upload sink on 127.0.0.1:$SINK_PORT (CPU $LOAD_CPU), pid ${PID[sink]}"

start_nginx() {
  fill "$CONF/proxy.nginx.conf.tmpl" "$TMP/proxy-nginx.conf" DIR="$TMP" PORT="$NGINX_PORT" BACKEND_PORT="$BACKEND_PORT" SINK_PORT="$SINK_PORT"
  note_cmd "taskset -c $PROXY_CPU nginx -p $TMP -e $TMP/nginx-proxy-error.log -c $TMP/proxy-nginx.conf -g 'daemon off;'   # bench/bodies/proxy.nginx.conf.tmpl"
  taskset -c "$PROXY_CPU" nginx -p "$TMP" -e "$TMP/nginx-proxy-error.log" -c "$TMP/proxy-nginx.conf" -g 'daemon off;' \
    >"$TMP/nginx-proxy.out" 2>&1 &
  PID[nginx]=$!; PIDS+=("$!")
}
start_haproxy() {
  fill "$CONF/haproxy.cfg.tmpl" "$TMP/haproxy.cfg" PORT="$HAPROXY_PORT" BACKEND_PORT="$BACKEND_PORT" SINK_PORT="$SINK_PORT"
  note_cmd "taskset -c $PROXY_CPU haproxy -db -f $TMP/haproxy.cfg   # bench/bodies/haproxy.cfg.tmpl"
  taskset -c "$PROXY_CPU" haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.out" 2>&1 &
  PID[haproxy]=$!; PIDS+=("$!")
}
start_martello() {
  mkdir -p "$TMP/manifests"
  fill "$CONF/martello-manifests.yaml.tmpl" "$TMP/manifests/bench.yaml" BACKEND_PORT="$BACKEND_PORT" SINK_PORT="$SINK_PORT"
  # --max-body-size 0: the 100 MB uploads are over the 10m default (nginx here has client_max_body_size 0).
  local cmd=(taskset -c "$PROXY_CPU" "$ROOT/bin/martello" serve --manifests "$TMP/manifests" --workers 1 --log-level warn --max-body-size 0
    --listen-http "127.0.0.1:$MARTELLO_PORT" --listen-https 127.0.0.1:0 --listen-admin "127.0.0.1:$ADMIN_PORT")
  # shellcheck disable=SC2206 # a word list by design
  [ -n "$MARTELLO_EXTRA" ] && cmd+=($MARTELLO_EXTRA)
  note_cmd "${cmd[*]}   # manifests: bench/bodies/martello-manifests.yaml.tmpl"
  "${cmd[@]}" >"$TMP/martello.log" 2>&1 &
  PID[martello]=$!; PIDS+=("$!")
  local deadline=$((SECONDS + READY_TIMEOUT)) code=""
  while [ $SECONDS -lt $deadline ]; do
    alive "${PID[martello]}" || { show_log "$TMP/martello.log"; die "martello exited during start-up"; }
    code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/readyz" 2>/dev/null || true)
    [ "$code" = 200 ] && break
    sleep 0.25
  done
  [ "$code" = 200 ] || { show_log "$TMP/martello.log"; die "martello /readyz did not answer 200 within ${READY_TIMEOUT}s (last: ${code:-none})"; }
}

for t in "${TARGET_LIST[@]}"; do
  "start_$t"
  wait_size "$t" "http://127.0.0.1:${PORT[$t]}/16k" "${PID[$t]}" 10 "$SMALL" || { show_log "${LOGS[$t]}"; die "$t does not proxy /16k to the backend"; }
  log "$t on 127.0.0.1:${PORT[$t]} (CPU $PROXY_CPU), pid ${PID[$t]}: verified /16k returns 16384 bytes"
done

# ------------------------------------------------------------ load

RUN_ID=bodies-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BENCH/results"
RESULTS="$BENCH/results/$RUN_ID.jsonl"
: >"$RESULTS"
SNAP_ARGS=("backend=${PID[backend]}" "sink=${PID[sink]}")
RSS_ARGS=()
for t in "${TARGET_LIST[@]}"; do SNAP_ARGS+=("$t=${PID[$t]}"); RSS_ARGS+=("$t=${PID[$t]}"); done
WRK_TIMEOUT=$((DURATION + WARMUP + 20))
W="%{http_code} %{size_download} %{size_upload} %{time_total}"
note_cmd "timeout $WRK_TIMEOUT taskset -c $LOAD_CPU wrk -t1 -c$CONNS -d${DURATION}s --latency --timeout 5s -H 'Host: $HOST_HEADER' http://127.0.0.1:<port>/16k   # ${WARMUP}s warm-up per target first"
XFER_ALL=$((XFER_TIMEOUT * TRANSFERS))
note_cmd "timeout $XFER_ALL taskset -c $LOAD_CPU bash -c 'for i in \$(seq $TRANSFERS); do <curl below>; echo; done'   # each 100 MB run: $TRANSFERS transfers, one curl (one connection) each"
note_cmd "  curl -s -o /dev/null -H 'Host: $HOST_HEADER' -w '$W' http://127.0.0.1:<port>/100m   # download"
note_cmd "  curl -s -o <answer.i> -X POST -T $TMP/files/100m -H 'Host: $HOST_HEADER' -H 'Expect:' -H 'Content-Type: application/octet-stream' -w '$W' http://127.0.0.1:<port>/upload   # upload; the sink must answer 'received $BIG'"
note_cmd "taskset -c $LOAD_CPU python3 bench/bodies/bodieslib.py watch --interval $INTERVAL --out <file> <target>=<pid>   # RSS sampler during each run"

# idle RSS: all proxies started and each has answered one /16k request
sleep "$SETTLE"
"${BLIB[@]}" rss "${RSS_ARGS[@]}" >"$TMP/rss-idle.json"
log "idle RSS: $(cat "$TMP/rss-idle.json")"

one_run() { # target case kind rep
  local t=$1 case=$2 kind=$3 rep=$4 ec=0 d sink_said=()
  taskset -c "$LOAD_CPU" "${BLIB[@]}" watch --interval "$INTERVAL" --out "$TMP/watch.json" "$t=${PID[$t]}" &
  WATCHPID=$!
  sleep 0.2
  taskset -c "$LOAD_CPU" "${LIB[@]}" snap "${SNAP_ARGS[@]}" >"$TMP/before.json"
  case "$case" in
    16k)
      d=$DURATION; [ "$kind" = warmup ] && d=$WARMUP
      timeout "$WRK_TIMEOUT" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${d}s" --latency --timeout 5s \
        -H "Host: $HOST_HEADER" "http://127.0.0.1:${PORT[$t]}/16k" >"$TMP/load.out" 2>&1 &
      ;;
    down)
      # shellcheck disable=SC2016 # expanded by the inner bash
      timeout "$XFER_ALL" taskset -c "$LOAD_CPU" bash -c 'for i in $(seq "$1"); do
          curl -s -o /dev/null -H "Host: $2" -w "$3" "$4"; echo; done' _ \
        "$TRANSFERS" "$HOST_HEADER" "$W" "http://127.0.0.1:${PORT[$t]}/100m" >"$TMP/load.out" 2>&1 &
      ;;
    up)
      rm -f "$TMP"/answer.*
      # shellcheck disable=SC2016 # expanded by the inner bash
      timeout "$XFER_ALL" taskset -c "$LOAD_CPU" bash -c 'for i in $(seq "$1"); do
          curl -s -o "$5.$i" -X POST -T "$6" -H "Host: $2" -H "Expect:" -H "Content-Type: application/octet-stream" \
            -w "$3" "$4"; echo; done' _ \
        "$TRANSFERS" "$HOST_HEADER" "$W" "http://127.0.0.1:${PORT[$t]}/upload" "$TMP/answer" "$TMP/files/100m" >"$TMP/load.out" 2>&1 &
      ;;
  esac
  LOADPID=$!
  wait "$LOADPID" || ec=$?
  LOADPID=""
  taskset -c "$LOAD_CPU" "${LIB[@]}" snap "${SNAP_ARGS[@]}" >"$TMP/after.json"
  sleep 0.1
  kill -TERM "$WATCHPID" 2>/dev/null || true
  wait "$WATCHPID" 2>/dev/null || true
  WATCHPID=""
  if [ "$case" = up ]; then sink_said=(--sink-said "$(cat "$TMP"/answer.* 2>/dev/null)"); fi
  "${BLIB[@]}" record --out "$RESULTS" --target "$t" --case "$case" --kind "$kind" --rep "$rep" --exit "$ec" --transfers "$TRANSFERS" \
    --before "$TMP/before.json" --after "$TMP/after.json" --load-out "$TMP/load.out" --watch "$TMP/watch.json" "${sink_said[@]}"
  alive "${PID[$t]}" || { show_log "${LOGS[$t]}"; die "$t died during the run"; }
  alive "${PID[backend]}" || { show_log "${LOGS[backend]}"; die "the backend died during the run"; }
  alive "${PID[sink]}" || { show_log "${LOGS[sink]}"; die "the upload sink died during the run"; }
}

n=${#TARGET_LIST[@]}
log "targets: ${TARGET_LIST[*]}; $REPS rounds each of 16 KiB (${DURATION}s wrk c$CONNS), 100 MB download, 100 MB upload, interleaved"
# warm-up, not counted: JIT, connection pools, page cache of the files
for t in "${TARGET_LIST[@]}"; do
  if [ "$WARMUP" -gt 0 ]; then one_run "$t" 16k warmup 0; fi
  one_run "$t" down warmup 0
  one_run "$t" up warmup 0
done
sleep "$PAUSE"
for case in 16k down up; do
  for ((rep = 1; rep <= REPS; rep++)); do
    [ "$QUIET_WAIT" -eq 0 ] || "${LIB[@]}" quiet --max-wait "$QUIET_WAIT"
    # round-robin, starting one target later each repetition to spread drift
    for ((k = 0; k < n; k++)); do
      t=${TARGET_LIST[$(((k + rep - 1) % n))]}
      one_run "$t" "$case" run "$rep"
      sleep "$PAUSE"
    done
  done
done
sleep "$SETTLE"
"${BLIB[@]}" rss "${RSS_ARGS[@]}" >"$TMP/rss-after.json"
log "RSS after the load: $(cat "$TMP/rss-after.json")"

# ------------------------------------------------------------ report

"${LIB[@]}" meta --root "$ROOT" --node "$NODE" \
  --load-desc "16 KiB: wrk -t1 -c$CONNS, $REPS x ${DURATION} s per target after a ${WARMUP} s warm-up; 100 MB: curl, $REPS download runs and $REPS upload runs of $TRANSFERS transfers each per target after one unmeasured run each; targets interleaved round-robin; proxies on CPU $PROXY_CPU; backend nginx, upload sink (Node.js), wrk and curl on CPU $LOAD_CPU; keep-alive to the backend; random-byte bodies" \
  >"$TMP/meta.json"
cp "$TMP/meta.json" "$BENCH/results/$RUN_ID.meta.json"
cp "$COMMANDS" "$BENCH/results/$RUN_ID.commands.txt"
cp "$TMP/rss-idle.json" "$BENCH/results/$RUN_ID.rss-idle.json"
cp "$TMP/rss-after.json" "$BENCH/results/$RUN_ID.rss-after.json"
# re-render later with bench/bodies/bodieslib.py report and these files
report=("${BLIB[@]}" report --results "$RESULTS" --rss-idle "$TMP/rss-idle.json" --rss-after "$TMP/rss-after.json"
  --meta "$TMP/meta.json" --commands "$COMMANDS" --bar "$BAR" --flat-mb "$FLAT_MB" --interval "$INTERVAL" --settle "$SETTLE"
  --transfers "$TRANSFERS" --curl-version "$(curl --version | head -n 1 | cut -d' ' -f1-2)")
if [ "$WRITE_DOCS" = 1 ]; then report+=(--docs "$DOCS"); fi
echo
"${report[@]}" | tee "$BENCH/results/$RUN_ID.md"
log "raw results: ${RESULTS#"$ROOT"/}"
