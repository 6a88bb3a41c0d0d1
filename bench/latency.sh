#!/usr/bin/env bash
# Latency at 50 connections, measured by two load generators side by side:
# wrk (what bench/run.sh uses) and h2load in HTTP/1.1 mode (nghttp2-client),
# whose per-request log gives exact percentiles. Same set-up as bench/run.sh:
# nginx (1 worker), Martello (--workers 1) and, when installed, HAProxy (1
# thread) on CPU 0, in front of one nginx backend on CPU 1 with the load
# generator; keep-alive both sides, 100-byte body. Each repetition runs every
# target with both clients, interleaved; the medians and the ratios to nginx
# of the same repetition are reported (docs/benchmarks.md, "Latency by two
# load generators"). A benchmark, not a test.
#
#   bash bench/latency.sh [--reps 3] [--seconds 8] [--conns 50] [--backend-cpu 1] [--martello-args "..."] [--no-docs]
#
# --backend-cpu 0 moves the backend to the proxies' core, so that the load
# generator has a core to itself (not the issue's topology; see
# docs/benchmarks.md for why it is worth measuring). The docs section it
# writes is then the bench:latency-backend0 one.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
REPS=3
SECONDS_PER_RUN=8
WARMUP=3
CONNS=50
MARTELLO_EXTRA=""
WRITE_DOCS=1
DOCS="$ROOT/docs/benchmarks.md"
PROXY_CPU=0
LOAD_CPU=1
BACKEND_CPU=1
HOST_HEADER=bench.local

while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=${2:?}; shift 2 ;;
    --seconds) SECONDS_PER_RUN=${2:?}; shift 2 ;;
    --conns) CONNS=${2:?}; shift 2 ;;
    --backend-cpu) BACKEND_CPU=${2:?}; shift 2 ;;
    --martello-args) MARTELLO_EXTRA=${2?}; shift 2 ;;
    --no-docs) WRITE_DOCS=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "latency: unknown option $1" >&2; exit 2 ;;
  esac
done

die() { echo "latency: $*" >&2; exit 1; }
for c in nginx wrk h2load taskset curl python3; do command -v "$c" >/dev/null || die "needs $c (Debian: nginx-light wrk nghttp2-client util-linux curl python3)"; done
[ -x "$ROOT/node_modules/.bin/node" ] || die "run npm ci first"
TARGETS=(nginx martello)
command -v haproxy >/dev/null && TARGETS=(nginx haproxy martello)

TMP=$(mktemp -d /tmp/martello-latency.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fill() { local tmpl=$1 out=$2; shift 2; local args=() kv; for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done; sed "${args[@]}" "$tmpl" >"$out"; }
wait_ok() { for _ in $(seq 100); do curl -sf -o /dev/null -H "Host: $HOST_HEADER" "$1" && return 0; sleep 0.1; done; die "no answer at $1"; }

BODY="martello-bench backend ok: fixed body of one hundred bytes for proxy comparisons...................."
BACKEND_PORT=$(free_port); STATUS_PORT=$(free_port)
declare -A PORT=([nginx]=$(free_port) [haproxy]=$(free_port) [martello]=$(free_port))
COMMANDS=()

mkdir -p "$TMP/backend-tmp" "$TMP/nginx-proxy-tmp" "$TMP/manifests"
fill "$HERE/conf/backend.nginx.conf.tmpl" "$TMP/backend.conf" DIR="$TMP" BACKEND_PORT="$BACKEND_PORT" STATUS_PORT="$STATUS_PORT" BODY="$BODY"
taskset -c $BACKEND_CPU nginx -p "$TMP" -e "$TMP/backend-error.log" -c "$TMP/backend.conf" -g 'daemon off;' >/dev/null 2>&1 &
PIDS+=($!)
COMMANDS+=("taskset -c $BACKEND_CPU nginx -p DIR -c DIR/backend.conf -g 'daemon off;'   # backend (bench/conf/backend.nginx.conf.tmpl)")
wait_ok "http://127.0.0.1:$BACKEND_PORT/"

fill "$HERE/conf/proxy.nginx.conf.tmpl" "$TMP/proxy-nginx.conf" DIR="$TMP" PORT="${PORT[nginx]}" BACKEND_PORT="$BACKEND_PORT"
taskset -c $PROXY_CPU nginx -p "$TMP" -e "$TMP/nginx-proxy-error.log" -c "$TMP/proxy-nginx.conf" -g 'daemon off;' >/dev/null 2>&1 &
PIDS+=($!)
COMMANDS+=("taskset -c $PROXY_CPU nginx -p DIR -c DIR/proxy-nginx.conf -g 'daemon off;'   # bench/conf/proxy.nginx.conf.tmpl")
if [[ " ${TARGETS[*]} " == *" haproxy "* ]]; then
  fill "$HERE/conf/haproxy.cfg.tmpl" "$TMP/haproxy.cfg" PORT="${PORT[haproxy]}" BACKEND_PORT="$BACKEND_PORT"
  taskset -c $PROXY_CPU haproxy -db -f "$TMP/haproxy.cfg" >/dev/null 2>&1 &
  PIDS+=($!)
  COMMANDS+=("taskset -c $PROXY_CPU haproxy -db -f DIR/haproxy.cfg   # bench/conf/haproxy.cfg.tmpl")
fi
fill "$HERE/conf/martello-manifests.yaml.tmpl" "$TMP/manifests/bench.yaml" BACKEND_PORT="$BACKEND_PORT"
# shellcheck disable=SC2086
taskset -c $PROXY_CPU "$ROOT/bin/martello" serve --manifests "$TMP/manifests" --workers 1 --listen-http "127.0.0.1:${PORT[martello]}" \
  --listen-https 127.0.0.1:0 --listen-admin "127.0.0.1:$(free_port)" --log-level warn --keep-alive-requests 1000000 $MARTELLO_EXTRA >"$TMP/martello.log" 2>&1 &
PIDS+=($!)
COMMANDS+=("taskset -c $PROXY_CPU bin/martello serve --manifests DIR/manifests --workers 1 --listen-http 127.0.0.1:P --listen-https 127.0.0.1:0 --listen-admin 127.0.0.1:A --log-level warn --keep-alive-requests 1000000 $MARTELLO_EXTRA   # bench/conf/martello-manifests.yaml.tmpl; keep-alive requests as the nginx config's")
for t in "${TARGETS[@]}"; do wait_ok "http://127.0.0.1:${PORT[$t]}/"; done
COMMANDS+=("taskset -c $LOAD_CPU wrk -t1 -c$CONNS -d${SECONDS_PER_RUN}s --latency -H 'Host: $HOST_HEADER' http://127.0.0.1:P/")
COMMANDS+=("taskset -c $LOAD_CPU h2load --h1 -t 1 -c $CONNS -m 1 -D $SECONDS_PER_RUN --log-file=FILE -H ':authority: $HOST_HEADER' http://127.0.0.1:P/   # percentiles from the per-request log")

RESULTS="$TMP/results.jsonl"
run_wrk() { # target rep
  local out
  out=$(taskset -c $LOAD_CPU wrk -t1 -c"$CONNS" -d"${SECONDS_PER_RUN}s" --latency --timeout 5s -H "Host: $HOST_HEADER" "http://127.0.0.1:${PORT[$1]}/")
  python3 - "$1" "$2" "$out" >>"$RESULTS" <<'PY'
import json, re, sys
target, rep, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def ms(v, unit): return float(v) * {'us': 0.001, 'ms': 1.0, 's': 1000.0}[unit]
pct = {m.group(1): ms(m.group(2), m.group(3)) for m in re.finditer(r'^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)', out, re.M)}
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
errors = 'Socket errors' in out or 'Non-2xx' in out
print(json.dumps({'client': 'wrk', 'target': target, 'rep': rep, 'rps': rps, 'p50': pct['50'], 'p99': pct['99'], 'errors': errors}))
PY
}
run_h2load() { # target rep
  rm -f "$TMP/h2load.log"
  local out
  out=$(taskset -c $LOAD_CPU h2load --h1 -t 1 -c "$CONNS" -m 1 -D "$SECONDS_PER_RUN" --log-file="$TMP/h2load.log" -H ":authority: $HOST_HEADER" "http://127.0.0.1:${PORT[$1]}/" 2>&1)
  python3 - "$1" "$2" "$out" "$TMP/h2load.log" >>"$RESULTS" <<'PY'
import json, re, sys
target, rep, out, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
# log lines: start time (us since epoch), status, request duration (us)
durations = sorted(int(line.split()[2]) / 1000 for line in open(log) if line.strip())
n = len(durations)
def pct(p): return durations[min(n - 1, int(n * p / 100))]
rps = float(re.search(r'finished in [^,]+, ([\d.]+) req/s', out).group(1))
m = re.search(r'(\d+) succeeded, (\d+) failed, (\d+) errored', out)
errors = m is None or int(m.group(2)) + int(m.group(3)) > 0
print(json.dumps({'client': 'h2load', 'target': target, 'rep': rep, 'rps': rps, 'p50': pct(50), 'p99': pct(99), 'p999': pct(99.9), 'errors': errors}))
PY
}

for t in "${TARGETS[@]}"; do
  taskset -c $LOAD_CPU wrk -t1 -c"$CONNS" -d"${WARMUP}s" -H "Host: $HOST_HEADER" "http://127.0.0.1:${PORT[$t]}/" >/dev/null
done
for rep in $(seq "$REPS"); do
  for t in "${TARGETS[@]}"; do
    echo "latency: rep $rep $t" >&2
    run_wrk "$t" "$rep"
    run_h2load "$t" "$rep"
  done
done

TABLE=$(python3 - "$RESULTS" "$CONNS" "$REPS" "$SECONDS_PER_RUN" "$(printf '%s\n' "${COMMANDS[@]}")" "$BACKEND_CPU" <<'PY'
import json, statistics, sys, datetime
rows = [json.loads(l) for l in open(sys.argv[1])]
conns, reps, secs, commands, backend_cpu = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
targets = [t for t in ('nginx', 'haproxy', 'martello') if any(r['target'] == t for r in rows)]
def med(xs): return statistics.median(xs)
out = [f"Run finished {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC: {reps} repetitions × {secs} s per client and target, {conns} connections, interleaved; backend on CPU {backend_cpu}, proxies on CPU 0, client on CPU 1.", '',
       '| client | target | req/s | p50 ms | p99 ms | p99 ratio to nginx (min–max) | p99 ÷ p50 |', '|---|---|---|---|---|---|---|']
for client in ('wrk', 'h2load'):
    for t in targets:
        rs = [r for r in rows if r['client'] == client and r['target'] == t]
        ratios = []
        for r in rs:
            base = [b for b in rows if b['client'] == client and b['target'] == 'nginx' and b['rep'] == r['rep']]
            if base: ratios.append(r['p99'] / base[0]['p99'])
        flag = ' (errors!)' if any(r['errors'] for r in rs) else ''
        out.append(f"| {client} | {t} | {med([r['rps'] for r in rs]):,.0f}{flag} | {med([r['p50'] for r in rs]):.2f} | {med([r['p99'] for r in rs]):.2f} | **{med(ratios):.2f}×** ({min(ratios):.2f}–{max(ratios):.2f}) | {med([r['p99'] / r['p50'] for r in rs]):.2f} |")
out += ['', '<details><summary>Exact commands</summary>', '', '```sh', commands, '```', '', '</details>']
print('\n'.join(out))
PY
)
echo "$TABLE"
if [ "$WRITE_DOCS" = 1 ]; then
  MARKER=latency
  [ "$BACKEND_CPU" = "$LOAD_CPU" ] || MARKER=latency-backend$BACKEND_CPU
  python3 - "$DOCS" "$TABLE" "$MARKER" <<'PY'
import sys
path, table, marker = sys.argv[1], sys.argv[2], sys.argv[3]
s = open(path).read()
start, end = f'<!-- bench:{marker}:start -->', f'<!-- bench:{marker}:end -->'
if start not in s: raise SystemExit(f'latency: no {start} marker in {path}')
head, rest = s.split(start, 1)
_, tail = rest.split(end, 1)
open(path, 'w').write(head + start + '\n' + table + '\n' + end + tail)
PY
  echo "latency: written between the bench:$MARKER markers of $DOCS" >&2
fi
