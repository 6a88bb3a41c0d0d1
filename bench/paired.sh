#!/usr/bin/env bash
# Paired A/B: the CPU cost per request of two Martello configurations (or two
# trees), measured AT THE SAME TIME on the same core.
#
# Why: on these shared VMs the same build moves by ±20-50 % in µs per request
# from one minute to the next, so two configurations measured one after the
# other (even interleaved) differ by more than the effect being looked for
# (a few %). Here A and B both run on CPU 0 during the same seconds, each
# driven by its own wrk (-c C/2) on CPU 1: whatever slows the machine slows
# both, and the ratio of their CPU µs per request stays put. An A/A run gives
# 1.00 ± 0.01; access log on against off gave 1.14, 1.16, 1.16 in three runs.
# What it cannot show: throughput or latency (the two share a core by design).
#
#   bash bench/paired.sh --a-args "--access-log off" --b-args "" [--reps 3] [--seconds 8]
#   bash bench/paired.sh --a-root /tmp/worktree-old --b-root . [...]   # two trees
#   bash bench/paired.sh --path /16k [...]   # 16 KiB responses (bench/bodies' static backend)
#
# Prints one line per repetition and the median of A/B. Needs nginx, wrk,
# taskset, curl, python3 and node_modules/.bin/node (npm ci).

set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
A_ROOT=$ROOT B_ROOT=$ROOT A_ARGS="" B_ARGS="" REPS=3 SECONDS_PER_RUN=8 CONNS=50 URL_PATH=/

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --a-args) A_ARGS=$2; shift 2 ;;
    --b-args) B_ARGS=$2; shift 2 ;;
    --a-root) A_ROOT=$(cd "$2" && pwd); shift 2 ;;
    --b-root) B_ROOT=$(cd "$2" && pwd); shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --path) URL_PATH=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "paired: unknown option $1" >&2; usage 2 ;;
  esac
done
for tool in nginx wrk taskset curl python3; do command -v "$tool" >/dev/null || { echo "paired: $tool is missing (see docs/benchmarks.md)" >&2; exit 2; }; done
for r in "$A_ROOT" "$B_ROOT"; do [ -x "$r/bin/martello" ] || { echo "paired: no $r/bin/martello" >&2; exit 2; }; done

TMP=$(mktemp -d /tmp/martello-paired.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
fill() { # template output VAR=value...
  local tmpl=$1 out=$2; shift 2
  local args=() kv
  for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${args[@]}" "$tmpl" >"$out"
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

BACKEND_PORT=$(free_port) STATUS_PORT=$(free_port)
mkdir -p "$TMP/backend-tmp" "$TMP/manifests"
case $URL_PATH in
  /) fill "$HERE/conf/backend.nginx.conf.tmpl" "$TMP/backend.conf" DIR="$TMP" BACKEND_PORT="$BACKEND_PORT" STATUS_PORT="$STATUS_PORT" BODY="paired backend: a fixed body" ;;
  /16k)
    # The nginx worker (user nobody) reads the file: the temp dir is 0700.
    chmod 755 "$TMP"; mkdir -p "$TMP/files"; head -c 16384 /dev/urandom >"$TMP/files/16k"; chmod 644 "$TMP/files/16k"
    fill "$HERE/bodies/backend.nginx.conf.tmpl" "$TMP/backend.conf" DIR="$TMP" BACKEND_PORT="$BACKEND_PORT" ;;
  *) echo "paired: --path is / or /16k" >&2; exit 2 ;;
esac
fill "$HERE/conf/martello-manifests.yaml.tmpl" "$TMP/manifests/bench.yaml" BACKEND_PORT="$BACKEND_PORT"
taskset -c 1 nginx -p "$TMP" -e "$TMP/backend-error.log" -c "$TMP/backend.conf" -g 'daemon off;' &
PIDS+=($!)

start_martello() { # root port admin args -> pid
  # shellcheck disable=SC2086 # the args are a word list
  taskset -c 0 "$1/bin/martello" serve --manifests "$TMP/manifests" --workers 1 --listen-http "127.0.0.1:$2" \
    --listen-https 127.0.0.1:0 --listen-admin "127.0.0.1:$3" --log-level warn $4 >"$TMP/martello-$2.out" 2>&1 &
  echo $!
}
wait_ready() {
  local i
  for i in $(seq 150); do curl -sf -o /dev/null -H 'Host: bench.local' "http://127.0.0.1:$1$URL_PATH" && return 0; sleep 0.2; done
  echo "paired: Martello on port $1 did not answer (see its output below)" >&2; cat "$TMP/martello-$1.out" >&2; exit 1
}

half=$((CONNS / 2))
ratios=()
for rep in $(seq "$REPS"); do
  PA=$(free_port) PB=$(free_port)
  # Alternate which side starts first, so neither always gets the warmer start.
  if [ $((rep % 2)) -eq 1 ]; then
    pa=$(start_martello "$A_ROOT" "$PA" "$(free_port)" "$A_ARGS"); pb=$(start_martello "$B_ROOT" "$PB" "$(free_port)" "$B_ARGS")
  else
    pb=$(start_martello "$B_ROOT" "$PB" "$(free_port)" "$B_ARGS"); pa=$(start_martello "$A_ROOT" "$PA" "$(free_port)" "$A_ARGS")
  fi
  PIDS+=("$pa" "$pb")
  wait_ready "$PA"; wait_ready "$PB"
  # Warm-up (JIT, pooled upstream connections), then the measured run: both at once.
  taskset -c 1 timeout 10 wrk -t1 -c"$half" -d2s -H 'Host: bench.local' "http://127.0.0.1:$PA$URL_PATH" >/dev/null &
  w=$!
  taskset -c 1 timeout 10 wrk -t1 -c"$half" -d2s -H 'Host: bench.local' "http://127.0.0.1:$PB$URL_PATH" >/dev/null
  wait "$w"
  a0=$(cpu_ticks "$pa") b0=$(cpu_ticks "$pb")
  taskset -c 1 timeout $((SECONDS_PER_RUN + 20)) wrk -t1 -c"$half" -d"${SECONDS_PER_RUN}s" -H 'Host: bench.local' "http://127.0.0.1:$PA$URL_PATH" >"$TMP/a.wrk" &
  w=$!
  taskset -c 1 timeout $((SECONDS_PER_RUN + 20)) wrk -t1 -c"$half" -d"${SECONDS_PER_RUN}s" -H 'Host: bench.local' "http://127.0.0.1:$PB$URL_PATH" >"$TMP/b.wrk"
  wait "$w"
  a1=$(cpu_ticks "$pa") b1=$(cpu_ticks "$pb")
  kill "$pa" "$pb"; wait "$pa" "$pb" 2>/dev/null || true
  PIDS=("${PIDS[0]}")
  for f in a b; do
    if grep -qE 'Socket errors|Non-2xx' "$TMP/$f.wrk"; then echo "paired: repetition $rep: wrk reported errors for $f:" >&2; cat "$TMP/$f.wrk" >&2; exit 1; fi
  done
  ra=$(awk '/requests in/{print $1}' "$TMP/a.wrk") rb=$(awk '/requests in/{print $1}' "$TMP/b.wrk")
  line=$(python3 -c "
hz = 100  # USER_HZ: /proc/PID/stat counts CPU time in ticks of 10 ms
a = ($a1 - $a0) * 1e6 / hz / $ra; b = ($b1 - $b0) * 1e6 / hz / $rb
print(f'rep $rep: A {a:.1f} us/req ({$ra} req)   B {b:.1f} us/req ({$rb} req)   A/B {a / b:.3f}')")
  echo "$line"
  ratios+=("${line##* }")
done
python3 -c "import statistics, sys; r = [float(x) for x in sys.argv[1:]]; print(f'median A/B {statistics.median(r):.3f} (min {min(r):.3f}, max {max(r):.3f}, {len(r)} repetitions)')" "${ratios[@]}"
