#!/usr/bin/env bash
# What one proxied request costs `isla balancer` and HAProxy in user-space instructions,
# counted by callgrind (valgrind): unlike req/s, the count does not move with whatever else the
# machine runs, so it compares the two proxies' own code on a shared or noisy machine, and
# shows a change to isla's request path by itself (issue 13; docs/benchmarks.md). Kernel time
# (the sockets) is not counted: req/s and CPU time are bench/balancer_vs_haproxy.sh's.
#
# Both proxies: one thread, round robin over the same three nginx backends on loopback,
# keep-alive both sides, health checks inter 2s fall 3 rise 2, no island secret. Each runs
# under callgrind with instrumentation off; after a warm-up, instrumentation is switched on
# for a wrk run of DURATION seconds (-t1 -cCONNECTIONS), then off, and the count is divided
# by the requests wrk saw answered. Prints one line per proxy and the ratio isla/HAProxy.
#
# Knobs (environment): DURATION (s, 8), CONNECTIONS (8), ISLA_BIN (build/isla),
# KEEP_TMP (1 keeps the callgrind files, for callgrind_annotate). Loopback 127.0.66.0/24 only.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

DURATION="${DURATION:-8}"
CONNECTIONS="${CONNECTIONS:-8}"
ISLA_BIN="${ISLA_BIN:-build/isla}"
KEEP_TMP="${KEEP_TMP:-0}"
PATH_Q=/api/figures
BACKENDS=(127.0.66.11:8090 127.0.66.12:8090 127.0.66.13:8090)
ISLA_ADDR=127.0.66.1:8080
HAPROXY_ADDR=127.0.66.2:8080

die() { echo "bench: $*" >&2; exit 1; }
source "$root/bench/lib/proxy_bench.sh"

for tool in wrk nginx haproxy curl valgrind callgrind_control callgrind_annotate; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run 'make deps' first"
done
[[ -x "$ISLA_BIN" ]] || die "isla binary '$ISLA_BIN' not found; run 'make build' (or set ISLA_BIN)"
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a whole number of seconds"
[[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be a positive whole number"

work="$(mktemp -d -t isla-balancer-cost.XXXXXX)"
pids=()
cleanup() {
  ((${#pids[@]})) && stop_pids "${pids[@]}"
  if [[ "$KEEP_TMP" == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

write_nginx_backends "$work" "${BACKENDS[@]}"
nginx -c "$work/nginx.conf" -g "daemon off;" >"$work/nginx.log" 2>&1 &
pids+=($!)
for backend in "${BACKENDS[@]}"; do
  wait_until "nginx $backend" 10 "${pids[0]}" eval '[[ "$(http_code "http://'"$backend$PATH_Q"'")" == 200 ]]'
done

# count NAME PID ADDRESS: instructions per request of the proxy PID (under callgrind) at ADDRESS.
declare -A per_request=()
count() {
  local name="$1" pid="$2" address="$3"
  # valgrind starts slowly: a generous bound
  wait_until "$name" 60 "$pid" eval '[[ "$(http_code "http://'"$address$PATH_Q"'")" == 200 ]]'
  wrk -t1 -c"$CONNECTIONS" -d2s "http://$address$PATH_Q" >/dev/null
  callgrind_control --instr=on "$pid" >/dev/null 2>&1
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "http://$address$PATH_Q" >"$work/$name.wrk"
  callgrind_control --instr=off "$pid" >/dev/null 2>&1
  callgrind_control --dump="measured" "$pid" >/dev/null 2>&1
  local requests instructions dump="$work/$name.callgrind.$pid.1"
  requests="$(awk '/requests in/ {print $1}' "$work/$name.wrk")"
  # The dump is written after the command returns; the program totals line ends it.
  local deadline=$((SECONDS + 30))
  until grep -q '^totals:' "$dump" 2>/dev/null || ((SECONDS >= deadline)); do sleep 0.2; done
  [[ -n "$dump" && -n "$requests" && "$requests" -gt 0 ]] || die "$name: no measurement (see $work)"
  instructions="$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n++ {gsub(",", "", $1); print $1}')"
  per_request[$name]=$((instructions / requests))
  printf '%-8s %10s requests  %14s instructions  %8s instructions/request\n' \
    "$name" "$requests" "$instructions" "${per_request[$name]}"
}

backend_list="$(IFS=,; echo "${BACKENDS[*]}")"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/isla.callgrind.%p" \
  "$ISLA_BIN" balancer --listen "$ISLA_ADDR" --backends "$backend_list" --algorithm roundrobin \
  --check-interval 2s --fall 3 --rise 2 --check-path / --threads 1 --data-dir "$work/isla" \
  --log-level warn >"$work/isla.log" 2>&1 &
isla_pid=$!
pids+=("$isla_pid")
count isla "$isla_pid" "$ISLA_ADDR"

write_haproxy_config "$work/haproxy.cfg" 1 "$HAPROXY_ADDR" "${BACKENDS[@]}"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/haproxy.callgrind.%p" \
  haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
pids+=("$haproxy_pid")
count haproxy "$haproxy_pid" "$HAPROXY_ADDR"

awk -v i="${per_request[isla]}" -v h="${per_request[haproxy]}" \
  'BEGIN { printf "isla/haproxy instructions per request: %.2f (lower is better)\n", i / h }'
