#!/usr/bin/env bash
# Slow HTTP denial-of-service check: runs slowhttptest (Debian package
# `slowhttptest`) against a real Martello in its four modes (slowloris,
# slow body, slow read, range attack) and, during each attack, probes with
# curl whether a normal client still gets 200: the availability that matters.
# Results and how to read them: docs/security.md ("Slow HTTP attacks").
#
#   bash scripts/slowhttptest.sh [--duration S] [--connections N] [--rate R] [--workers N]
#        [--attacks LIST] [--response-bytes N] [--root DIR] [--martello-args "..."]
#
# Everything listens on 127.0.0.1 only. The attacks come from 127.0.0.1; the
# curl probe comes from 127.0.0.2 (another client, as it would be on the
# internet) and a second one from 127.0.0.1 (same address as the attacker).
# Every process started here is stopped by PID on exit (also on Ctrl-C), and
# the temp dir is removed. Not part of `npm test`; about 3 minutes.

set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=30
CONNECTIONS=500
RATE=250
WORKERS=2
MARTELLO_ARGS=""
RESPONSE_BYTES=$((256 * 1024))
ATTACKS="slowloris,slow-body,slow-read,range-23k,range-7k"

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<EOF

Options:
  --duration S          length of each attack, seconds (default $DURATION)
  --connections N       slowhttptest -c: connections per attack (default $CONNECTIONS)
  --rate R              slowhttptest -r: new connections per second (default $RATE)
  --workers N           Martello --workers (default $WORKERS)
  --attacks LIST        comma-separated subset of $ATTACKS
  --response-bytes N    size of the backend's GET response (default $RESPONSE_BYTES; the slow read
                        attack only reaches Martello once a response outgrows the socket buffers)
  --root DIR            the Martello checkout to run (default: this one, $ROOT)
  --martello-args "..." extra flags for martello serve
EOF
}

while [ $# -gt 0 ]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --attacks) ATTACKS=$2; shift 2 ;;
    --response-bytes) RESPONSE_BYTES=$2; shift 2 ;;
    --root) ROOT=$(cd "$2" && pwd); shift 2 ;;
    --martello-args) MARTELLO_ARGS=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "slowhttptest.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

NODE="$ROOT/node_modules/.bin/node"
log() { echo "[slowhttptest.sh] $*" >&2; }
die() { log "$*"; exit 1; }
command -v slowhttptest >/dev/null || die "slowhttptest is missing (Debian: apt-get install slowhttptest)"
command -v curl >/dev/null || die "curl is missing (Debian: apt-get install curl)"
[ -x "$NODE" ] || die "no $NODE: run npm ci in $ROOT"
# Several hundred sockets on each side of Martello, plus slowhttptest's own.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d /tmp/martello-slowhttp.XXXXXX)
PIDS=()

alive() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1; [ -n "$st" ] && [ "$st" != Z ]; }
stop_pid() { # TERM, up to 10 s, then KILL (Martello stops its own workers on TERM)
  local p=$1
  kill -TERM "$p" 2>/dev/null || return 0
  for _ in $(seq 100); do alive "$p" || break; sleep 0.1; done
  if alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
  wait "$p" 2>/dev/null || true
}
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do stop_pid "${PIDS[i]}"; done
  if [ -n "${KEEP_TMP:-}" ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT
trap 'log terminated; exit 143' TERM

free_port() { "$NODE" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
BACKEND_PORT=$(free_port); HTTP_PORT=$(free_port); HTTPS_PORT=$(free_port); ADMIN_PORT=$(free_port)

# ------------------------------------------------------------ backend
# GET: a 256 KiB body (large enough that a slow reader cannot take it in one
# window); POST: the body is read and counted. Answers Range like nothing
# special (200, whole body), as most application servers do.
cat >"$TMP/backend.mjs" <<'EOF'
import { createServer } from 'node:http';
const body = Buffer.alloc(Number(process.argv[3]), 'x');
const server = createServer((req, res) => {
  let n = 0;
  req.on('data', (c) => { n += c.length; });
  req.on('end', () => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`received ${n} bytes\n`);
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2]), '127.0.0.1');
EOF
"$NODE" "$TMP/backend.mjs" "$BACKEND_PORT" "$RESPONSE_BYTES" &
PIDS+=($!)

# ------------------------------------------------------------ Martello
mkdir "$TMP/manifests"
cat >"$TMP/manifests/app.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: { name: app, namespace: default }
spec:
  ports: [{ port: 80 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: app-0, namespace: default, labels: { kubernetes.io/service-name: app } }
addressType: IPv4
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
ports: [{ name: "", port: $BACKEND_PORT, protocol: TCP }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: app, namespace: default }
spec:
  defaultBackend: { service: { name: app, port: { number: 80 } } }
EOF
# shellcheck disable=SC2086 # MARTELLO_ARGS is a list of flags
"$ROOT/bin/martello" serve --manifests "$TMP/manifests" --workers "$WORKERS" \
  --listen-http "127.0.0.1:$HTTP_PORT" --listen-https "127.0.0.1:$HTTPS_PORT" --listen-admin "127.0.0.1:$ADMIN_PORT" \
  --access-log "$TMP/access.log" $MARTELLO_ARGS 2>"$TMP/martello.log" &
MARTELLO=$!
PIDS+=("$MARTELLO")
for _ in $(seq 150); do
  code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/readyz" 2>/dev/null || true)
  [ "$code" = 200 ] && break
  alive "$MARTELLO" || { cat "$TMP/martello.log" >&2; die "martello exited"; }
  sleep 0.2
done
[ "$code" = 200 ] || { tail -20 "$TMP/martello.log" >&2; die "martello not ready within 30 s"; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/")
[ "$code" = 200 ] || die "baseline request: $code, expected 200"
URL="http://127.0.0.1:$HTTP_PORT/"
log "martello $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '(not a git checkout)') on $URL, $WORKERS workers, backend :$BACKEND_PORT; $DURATION s per attack, $CONNECTIONS connections at $RATE/s"

# Resident memory of Martello (primary + workers), KiB.
rss_kib() {
  local total=0 p
  for p in "$MARTELLO" $(pgrep -P "$MARTELLO" 2>/dev/null || true); do
    total=$((total + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# One probe per second while the attack runs: "source code seconds" lines.
probe_loop() { # out-file
  local src code t
  while :; do
    for src in 127.0.0.2 127.0.0.1; do
      read -r code t < <(curl -s -o /dev/null --interface "$src" -m 5 -w '%{http_code} %{time_total}\n' "$URL" 2>/dev/null || echo "000 5")
      echo "$src $code $t" >>"$1"
    done
    echo "rss $(rss_kib)" >>"$1"
    sleep 1
  done
}

RESULTS=()
attack() { # name, slowhttptest args...
  local name=$1; shift
  case ",$ATTACKS," in *",$name,"*) ;; *) return 0 ;; esac
  local out="$TMP/$name"
  log "attack: $name: slowhttptest $* -u $URL"
  local before=${#PIDS[@]}
  probe_loop "$out.probes" &
  local prober=$!
  PIDS+=("$prober")
  # slowhttptest's own deadline is -l; timeout is the safety net.
  timeout $((DURATION + 60)) slowhttptest "$@" -l "$DURATION" -p 3 -u "$URL" >"$out.txt" 2>&1 &
  local attacker=$!
  PIDS+=("$attacker")
  wait "$attacker" || true
  kill "$prober" 2>/dev/null || true
  wait "$prober" 2>/dev/null || true
  PIDS=("${PIDS[@]:0:$before}")
  # slowhttptest prints a status block every few seconds (colours stripped here); its verdicts are the
  # "service available" lines, from its own probe connection (from 127.0.0.1, -p 3 s).
  sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$out.txt" >"$out.clean"
  local yes no maxconn exit_status p2 p1 rss
  yes=$(grep -c '^service available: *YES' "$out.clean" || true)
  no=$(grep -c '^service available: *NO' "$out.clean" || true)
  maxconn=$(awk '/^connected:/ && $2>m {m=$2} END {print m+0}' "$out.clean")
  exit_status=$(sed -n 's/^Exit status: *//p' "$out.clean" | tail -1)
  p2=$(awk '$1=="127.0.0.2" {n++; if ($2==200) ok++; if ($3>m) m=$3} END {printf "%d/%d 200, max %.2f s", ok, n, m}' "$out.probes")
  p1=$(awk '$1=="127.0.0.1" {n++; if ($2==200) ok++; if ($3>m) m=$3} END {printf "%d/%d 200, max %.2f s", ok, n, m}' "$out.probes")
  rss=$(awk '$1=="rss" && $2>m {m=$2} END {printf "%d MiB", m/1024}' "$out.probes")
  RESULTS+=("| $name | ${maxconn:-?} | ${yes:-0} YES / ${no:-0} NO | $p2 | $p1 | $rss | ${exit_status:-?} |")
  log "  max connected ${maxconn:-?}; slowhttptest: $yes YES / $no NO; curl from 127.0.0.2: $p2; from 127.0.0.1: $p1; RSS max $rss; $exit_status"
  # Let Martello close what the attack left behind before the next one.
  sleep 3
}

C=$CONNECTIONS R=$RATE
attack slowloris    -H -c "$C" -r "$R" -i 10 -s 8192 -x 24
attack slow-body    -B -c "$C" -r "$R" -i 10 -s 65536 -x 10
attack slow-read    -X -c "$C" -r "$R" -w 8 -y 32 -n 5 -z 32 -k 3
# The range attack's head grows with -b: 3000 makes a 23 KB head (refused by the 16 KiB limit, 431);
# 1000 makes a 7 KB head that Martello forwards (what a backend makes of 1000 ranges is its business).
attack range-23k    -R -c "$C" -r "$R" -a 10 -b 3000
attack range-7k     -R -c "$C" -r "$R" -a 10 -b 1000

echo
echo "| attack | most connections held | slowhttptest "service available" | curl from 127.0.0.2 | curl from 127.0.0.1 | Martello RSS max | slowhttptest exit |"
echo "|---|---|---|---|---|---|---|"
for r in "${RESULTS[@]}"; do echo "$r"; done
echo
# What Martello answered to the attack connections (the access log has one line per request).
# Requests whose head never completed (slowloris, heads over the size limit) are answered but not logged.
echo "Martello access log, requests by method and status: $(sed -n 's/.*"method":"\([A-Z]*\)".*"status":\([0-9]*\).*/\1 \2/p' "$TMP/access.log" 2>/dev/null | sort | uniq -c | awk '{printf "%s %s: %s; ", $2, $3, $1}')"
echo "Martello errors/warnings logged: $(grep -c '"level":"\(error\|warn\)"' "$TMP/martello.log" || true)"
if [ -n "${KEEP_TMP:-}" ]; then echo "raw output in $TMP"; fi
