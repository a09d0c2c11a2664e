#!/usr/bin/env bash
# Benchmarks the isla gateway against nginx as a reverse proxy in front of one piece server.
#
#   (a) wrk -> piece server                    (the ceiling: no proxy at all)
#   (b) wrk -> isla gateway -> piece server
#   (c) wrk -> nginx (1 worker, keep-alive upstream) -> piece server
#   (d) wrk -> isla gateway with --upstream-pipeline 1 -> piece server: (b) without HTTP/1.1
#       pipelining to the piece server, one request per upstream connection as nginx does,
#       to show what the pipelining is worth (reported, no goal)
#
# Goal: (b) req/s >= 1.1 x (c) req/s, with (b) p99 <= (c) p99, and the gateway's idle RSS <= 20 MB.
#
# Knobs (environment): DURATION (s, default 10), CONNECTIONS (default 64),
# ISLA_BIN (default build/isla, relative to the repo root).
# Only loopback addresses in 127.0.3.0/24 are used; all state lives in a temp dir.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
ISLA_BIN="${ISLA_BIN:-build/isla}"
WRK_THREADS=2
WARMUP=2
FIGURE=giraffe
PATH_Q="/api/figures/${FIGURE}"

PIECES_ADDR=127.0.3.11:1233
GATEWAY_ADDR=127.0.3.1:5235
GATEWAY_PLAIN_ADDR=127.0.3.3:5235
NGINX_ADDR=127.0.3.2:8080

die() { echo "bench: $*" >&2; exit 1; }

# ---------------------------------------------------------------- preconditions
for tool in wrk nginx; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run 'make deps' first"
done
command -v curl >/dev/null 2>&1 || die "'curl' not found; run 'make deps' first"
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -gt 0 ]] || die "DURATION must be a positive integer (got '$DURATION')"
[[ "$CONNECTIONS" =~ ^[0-9]+$ && "$CONNECTIONS" -ge "$WRK_THREADS" ]] ||
  die "CONNECTIONS must be an integer >= $WRK_THREADS (got '$CONNECTIONS')"
[[ -x "$ISLA_BIN" ]] || die "isla binary '$ISLA_BIN' not found or not executable; run 'make build' (or set ISLA_BIN)"
[[ -f "data/figures/${FIGURE}.toml" ]] || die "catalogue entry data/figures/${FIGURE}.toml is missing"

if command -v ss >/dev/null 2>&1; then
  for addr in "$PIECES_ADDR" "$GATEWAY_ADDR" "$GATEWAY_PLAIN_ADDR" "$NGINX_ADDR"; do
    if ss -Hltn "src = ${addr}" 2>/dev/null | grep -q .; then
      die "something already listens on ${addr} (another benchmark still running?)"
    fi
  done
fi

# ---------------------------------------------------------------- cleanup
tmp="$(mktemp -d "${TMPDIR:-/tmp}/isla-bench.XXXXXX")"
pids=()
wrk_pid=""

cleanup() {
  local rc=$?
  set +e
  local pid deadline
  [[ -n "$wrk_pid" ]] && kill -TERM "$wrk_pid" 2>/dev/null && wait "$wrk_pid" 2>/dev/null
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  deadline=$((SECONDS + 5))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "bench: pid $pid did not stop on SIGTERM, killing it" >&2
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  if ((rc != 0)); then
    for log in "$tmp"/pieces.log "$tmp"/gateway.log "$tmp"/gateway-plain.log "$tmp"/nginx/error.log "$tmp"/nginx/stderr.log; do
      [[ -s "$log" ]] || continue
      echo "---- last lines of ${log#"$tmp"/} ----" >&2
      tail -n 20 "$log" >&2
    done
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" 2>/dev/null || true; }

# wait_until DESCRIPTION TIMEOUT_S PID COMMAND...: polls COMMAND until it succeeds.
wait_until() {
  local what="$1" timeout="$2" pid="$3"
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    kill -0 "$pid" 2>/dev/null || die "$what: process $pid exited during start-up"
    ((SECONDS < deadline)) || die "$what: not ready after ${timeout}s"
    sleep 0.05
  done
}

figure_ok() { [[ "$(http_code "http://$1${PATH_Q}")" == 200 ]]; }

# gateway_knows_pieces ADDRESS: the gateway at ADDRESS routes to the piece server.
gateway_knows_pieces() {
  local status seg
  status="$(curl -s --max-time 1 "http://$1/api/status" 2>/dev/null)" || return 1
  [[ "$status" == *'"piece_servers":'* ]] || return 1
  seg="${status#*\"piece_servers\":}"
  seg="${seg%%\"departed\":*}"
  [[ "$seg" == *"\"address\":\"${PIECES_ADDR}\""* ]]
}

rss_mb() {
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024; found = 1 } END { if (!found) print "n/a" }' "/proc/$1/status"
}

# to_ms VALUE: wrk prints durations as e.g. 812.00us, 1.23ms, 2.01s, 1.00m.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (match(v, /^[0-9.]+/) == 0) { print "nan"; exit }
    n = substr(v, 1, RLENGTH); u = substr(v, RLENGTH + 1)
    if (u == "us") f = 0.001; else if (u == "ms") f = 1; else if (u == "s") f = 1000;
    else if (u == "m") f = 60000; else if (u == "h") f = 3600000; else { print "nan"; exit }
    printf "%.3f", n * f
  }'
}

source "$root/bench/lib/wrk.sh"

# run_wrk NAME URL: warm-up, then the measured run; sets RPS[NAME], P99[NAME], ERR[NAME].
declare -A RPS P99 ERR
run_wrk() {
  local name="$1" url="$2" out rps p99raw non2xx sockerr
  echo "== ${name}: warm-up ${WARMUP}s, then ${DURATION}s (-t${WRK_THREADS} -c${CONNECTIONS}) -> ${url}" >&2
  wrk_bg "$tmp/wrk-${name}-warmup.txt" -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url"
  wrk_bg "$tmp/wrk-${name}.txt" -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url"
  out="$(<"$tmp/wrk-${name}.txt")"
  rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")"
  p99raw="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  [[ -n "$rps" && -n "$p99raw" ]] || { printf '%s\n' "$out" >&2; die "${name}: could not parse wrk output"; }
  non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")"
  sockerr="$(awk '/Socket errors:/ { s = 0; for (i = 3; i <= NF; i += 2) s += $(i + 1); print s }' <<<"$out")"
  RPS[$name]="$rps"
  P99[$name]="$(to_ms "$p99raw")"
  ERR[$name]=$(( ${non2xx:-0} + ${sockerr:-0} ))
}

# ---------------------------------------------------------------- start the servers
# Everything shares the CPU with wrk, so other work on the machine skews the numbers: record it.
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$tmp/pieces" "$tmp/gateway" "$tmp/gateway-plain" "$tmp/nginx/logs"

"$ISLA_BIN" gateway --listen "$GATEWAY_ADDR" --data-dir "$tmp/gateway" \
  --threads "${GATEWAY_THREADS:-0}" >"$tmp/gateway.log" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")

"$ISLA_BIN" gateway --listen "$GATEWAY_PLAIN_ADDR" --data-dir "$tmp/gateway-plain" \
  --threads "${GATEWAY_THREADS:-0}" --upstream-pipeline 1 >"$tmp/gateway-plain.log" 2>&1 &
gateway_plain_pid=$!
pids+=("$gateway_plain_pid")

"$ISLA_BIN" pieces --listen "$PIECES_ADDR" --gateway "$GATEWAY_ADDR,$GATEWAY_PLAIN_ADDR" \
  --catalog data/figures \
  --figures "$FIGURE" --data-dir "$tmp/pieces" --threads "${PIECES_THREADS:-0}" \
  >"$tmp/pieces.log" 2>&1 &
pieces_pid=$!
pids+=("$pieces_pid")

wait_until "piece server" 15 "$pieces_pid" figure_ok "$PIECES_ADDR"
wait_until "gateway (piece server registered)" 15 "$gateway_pid" gateway_knows_pieces "$GATEWAY_ADDR"
wait_until "gateway (figure routed)" 15 "$gateway_pid" figure_ok "$GATEWAY_ADDR"
wait_until "unpipelined gateway (piece server registered)" 15 "$gateway_plain_pid" \
  gateway_knows_pieces "$GATEWAY_PLAIN_ADDR"
wait_until "unpipelined gateway (figure routed)" 15 "$gateway_plain_pid" figure_ok "$GATEWAY_PLAIN_ADDR"

# nginx: everything (pid, logs, temp paths) under the temp dir; -e keeps it from opening
# the compiled-in error log before it has read our config.
nginx_prefix="$tmp/nginx"
nginx_conf="$nginx_prefix/nginx.conf"
# When run as root the worker drops to 'nobody'; it must be able to reach its temp paths.
chmod 755 "$tmp" "$nginx_prefix"
# Each proxied client holds two connections (client + upstream).
nginx_conns=$((2 * CONNECTIONS + 128 > 1024 ? 2 * CONNECTIONS + 128 : 1024))
cat >"$nginx_conf" <<EOF
worker_processes 1;
pid ${nginx_prefix}/nginx.pid;
lock_file ${nginx_prefix}/nginx.lock;
error_log ${nginx_prefix}/error.log warn;

events {
    worker_connections ${nginx_conns};
}

http {
    access_log off;
    client_body_temp_path ${nginx_prefix}/client_body;
    proxy_temp_path       ${nginx_prefix}/proxy;
    fastcgi_temp_path     ${nginx_prefix}/fastcgi;
    uwsgi_temp_path       ${nginx_prefix}/uwsgi;
    scgi_temp_path        ${nginx_prefix}/scgi;

    upstream pieces {
        server ${PIECES_ADDR};
        keepalive 64;
    }

    server {
        listen ${NGINX_ADDR};
        location / {
            proxy_pass http://pieces;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
nginx -t -q -e "$nginx_prefix/error.log" -c "$nginx_conf" -p "$nginx_prefix" -g 'daemon off;' \
  2>"$nginx_prefix/stderr.log" || { cat "$nginx_prefix/stderr.log" >&2; die "nginx rejected its config"; }
nginx -e "$nginx_prefix/error.log" -c "$nginx_conf" -p "$nginx_prefix" -g 'daemon off;' \
  >>"$nginx_prefix/stderr.log" 2>&1 &
nginx_pid=$!
pids+=("$nginx_pid")
wait_until "nginx" 15 "$nginx_pid" figure_ok "$NGINX_ADDR"

# ---------------------------------------------------------------- measure
rss_idle="$(rss_mb "$gateway_pid")"

run_wrk pieces "http://${PIECES_ADDR}${PATH_Q}"
run_wrk gateway "http://${GATEWAY_ADDR}${PATH_Q}"
rss_loaded="$(rss_mb "$gateway_pid")"
run_wrk nginx "http://${NGINX_ADDR}${PATH_Q}"
run_wrk gateway_plain "http://${GATEWAY_PLAIN_ADDR}${PATH_Q}"

# ---------------------------------------------------------------- report
cpu_model="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"

read -r tput_ratio p99_ratio verdict <<<"$(awk -v gr="${RPS[gateway]}" -v nr="${RPS[nginx]}" \
  -v gp="${P99[gateway]}" -v np="${P99[nginx]}" 'BEGIN {
    t = (nr > 0) ? gr / nr : 0; p = (np > 0) ? gp / np : 0
    ok = (t >= 1.1 && gp <= np) ? "MET" : "NOT-MET"
    printf "%.2f %.2f %s\n", t, p, ok
  }')"
rss_verdict="$(awk -v r="$rss_idle" 'BEGIN { print (r != "n/a" && r + 0 <= 20) ? "MET" : "NOT-MET" }')"

echo
echo "isla gateway vs nginx — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine : nproc=$(nproc), ${cpu_model:-unknown CPU}, kernel $(uname -r)"
echo "load avg: ${load_before} before the run (1/5/15 min; anything near nproc means a noisy result)"
echo "isla    : commit ${commit}, binary ${ISLA_BIN}"
echo "nginx   : $(nginx -v 2>&1 | sed 's/^nginx version: //'), worker_processes 1, upstream keepalive 64"
echo "load    : wrk -t${WRK_THREADS} -c${CONNECTIONS} -d${DURATION}s --latency GET ${PATH_Q} (after ${WARMUP}s warm-up)"
echo
printf '%-26s %12s %10s %8s\n' "target" "req/s" "p99 ms" "errors"
printf '%-26s %12s %10s %8s\n' "--------------------------" "------------" "----------" "--------"
printf '%-26s %12.0f %10.2f %8d\n' "(a) piece server direct" "${RPS[pieces]}" "${P99[pieces]}" "${ERR[pieces]}"
printf '%-26s %12.0f %10.2f %8d\n' "(b) isla gateway" "${RPS[gateway]}" "${P99[gateway]}" "${ERR[gateway]}"
printf '%-26s %12.0f %10.2f %8d\n' "(c) nginx proxy" "${RPS[nginx]}" "${P99[nginx]}" "${ERR[nginx]}"
printf '%-26s %12.0f %10.2f %8d\n' "(d) gateway, no pipelining" "${RPS[gateway_plain]}" \
  "${P99[gateway_plain]}" "${ERR[gateway_plain]}"
echo
echo "throughput ratio (b)/(c) : ${tput_ratio}  (goal >= 1.10)"
echo "p99 ratio (b)/(c)        : ${p99_ratio}  (goal <= 1.00, lower is better)"
echo "gateway vs nginx goal    : ${verdict}"
echo "without pipelining (d)/(c): $(awk -v d="${RPS[gateway_plain]}" -v n="${RPS[nginx]}" \
  'BEGIN { printf "%.2f", (n > 0) ? d / n : 0 }')  (upstream pipelining is worth (b)/(d) = $(awk \
  -v b="${RPS[gateway]}" -v d="${RPS[gateway_plain]}" 'BEGIN { printf "%.2f", (d > 0) ? b / d : 0 }'))"
echo "gateway RSS idle         : ${rss_idle} MB  (goal <= 20 MB: ${rss_verdict})"
echo "gateway RSS after load   : ${rss_loaded} MB"
if (( ERR[pieces] + ERR[gateway] + ERR[nginx] + ERR[gateway_plain] > 0 )); then
  echo "warning: some requests failed (non-2xx or socket errors); see the errors column" >&2
fi
