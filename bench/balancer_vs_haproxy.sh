#!/usr/bin/env bash
# Benchmarks `isla balancer` against HAProxy as HTTP load balancers in front of the same three
# backends, in one run (issue 13):
#
#   (a) wrk -> backend 1                          (the ceiling: no balancer)
#   (b) wrk -> isla balancer  -> 3 backends       (roundrobin, keep-alive both sides, one
#                                                  request per backend connection at a time:
#                                                  the default, as HAProxy does)
#   (c) wrk -> isla balancer --upstream-pipeline 16 --upstream-connections 2 -> 3 backends
#                                                 (GETs pipelined to the backends, as the
#                                                  gateway does to its piece servers)
#   (d) wrk -> HAProxy        -> 3 backends       (balance roundrobin, http-reuse always,
#                                                  option http-keep-alive)
#
# Both balancers get the same number of threads (THREADS; HAProxy's nbthread), the same health
# checks (inter 2s fall 3 rise 2) and the same algorithm. The backends are nginx (one worker)
# answering a small static body on three loopback addresses: cheap enough that the balancer
# is what is measured. Goal: isla req/s >= 1.1 x HAProxy's with p99 no worse (reported, not
# asserted). Each row also gets the balancer's CPU time per request (utime + stime over
# the measured run, from /proc/PID/stat).
#
# Knobs (environment): DURATION (s, default 10), CONNECTIONS (default 64), THREADS (balancer
# threads, default 1), WRK_THREADS (default 2), ROUNDS (interleaved rounds of (b)-(d), default
# 3; medians compared), ISLA_BIN (default build/isla).
# Only loopback addresses in 127.0.4.0/24 are used; all state lives in a temp dir.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-1}"
WRK_THREADS="${WRK_THREADS:-2}"
ISLA_BIN="${ISLA_BIN:-build/isla}"
WARMUP=2
ROUNDS="${ROUNDS:-3}"
PATH_Q=/api/figures

BACKENDS=(127.0.4.11:8090 127.0.4.12:8090 127.0.4.13:8090)
ISLA_ADDR=127.0.4.1:8080
ISLA_ADMIN=127.0.4.1:8081
ISLA_PIPELINED_ADDR=127.0.4.3:8080
HAPROXY_ADDR=127.0.4.2:8080

die() { echo "bench: $*" >&2; exit 1; }
source "$root/bench/lib/proxy_bench.sh"
source "$root/bench/lib/wrk.sh"
source "$root/bench/lib/proc_cpu.sh"

for tool in wrk nginx haproxy curl; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run 'make deps' first"
done
[[ -x "$ISLA_BIN" ]] || die "isla binary '$ISLA_BIN' not found; run 'make build' (or set ISLA_BIN)"

work="$(mktemp -d -t isla-balancer-bench.XXXXXX)"
pids=()
wrk_pid=""
cleanup() {
  [[ -n "$wrk_pid" ]] && kill "$wrk_pid" 2>/dev/null
  ((${#pids[@]})) && stop_pids "${pids[@]}"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- backends: nginx
mkdir -p "$work/nginx"
write_nginx_backends "$work/nginx" "${BACKENDS[@]}"
nginx -c "$work/nginx/nginx.conf" -g "daemon off;" >"$work/nginx/out.log" 2>&1 &
pids+=($!)
for backend in "${BACKENDS[@]}"; do
  wait_until "nginx $backend" 10 "${pids[0]}" eval '[[ "$(http_code "http://'"$backend$PATH_Q"'")" == 200 ]]'
done

# ---------------------------------------------------------------- isla balancer
backend_list="$(IFS=,; echo "${BACKENDS[*]}")"
"$ISLA_BIN" balancer --listen "$ISLA_ADDR" --admin "$ISLA_ADMIN" --backends "$backend_list" \
  --algorithm roundrobin --check-interval 2s --fall 3 --rise 2 --check-path / \
  --threads "$THREADS" --data-dir "$work/isla" --log-level warn >"$work/isla.log" 2>&1 &
isla_pid=$!
pids+=("$isla_pid")
wait_until "isla balancer" 10 "$isla_pid" eval '[[ "$(http_code "http://'"$ISLA_ADDR$PATH_Q"'")" == 200 ]]'
"$ISLA_BIN" balancer --listen "$ISLA_PIPELINED_ADDR" --backends "$backend_list" \
  --algorithm roundrobin --check-interval 2s --fall 3 --rise 2 --check-path / \
  --upstream-pipeline 16 --upstream-connections 2 \
  --threads "$THREADS" --data-dir "$work/isla-pipelined" --log-level warn >"$work/isla-pipelined.log" 2>&1 &
isla_pipelined_pid=$!
pids+=("$isla_pipelined_pid")
wait_until "isla balancer (pipelined)" 10 "$isla_pipelined_pid" eval '[[ "$(http_code "http://'"$ISLA_PIPELINED_ADDR$PATH_Q"'")" == 200 ]]'

# ---------------------------------------------------------------- HAProxy
write_haproxy_config "$work/haproxy.cfg" "$THREADS" "$HAPROXY_ADDR" "${BACKENDS[@]}"
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
pids+=("$haproxy_pid")
wait_until "haproxy" 10 "$haproxy_pid" eval '[[ "$(http_code "http://'"$HAPROXY_ADDR$PATH_Q"'")" == 200 ]]'

# ---------------------------------------------------------------- runs
# run NAME URL PID: warm-up, then the measured run; prints one row.
rows=()
run() {
  local name="$1" url="$2" pid="$3"
  wrk_bg "$work/warmup.txt" -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url"
  local cpu_before cpu_after
  cpu_before="$(cpu_ticks "$pid")"
  wrk_bg "$work/$name.txt" -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url"
  cpu_after="$(cpu_ticks "$pid")"
  local rps p99 total errors
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$work/$name.txt")"
  p99="$(to_ms "$(awk '$1 == "99%" {print $2}' "$work/$name.txt")")"
  total="$(awk '/requests in/ {print $1}' "$work/$name.txt")"
  errors="$(awk '/Non-2xx|Socket errors/ {print}' "$work/$name.txt" | tr '\n' ' ')"
  local us_per_request
  us_per_request="$(awk -v t="$((cpu_after - cpu_before))" -v n="$total" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "nan" }')"
  printf '%-34s %10s req/s   p99 %8s ms   cpu %6s us/req %s\n' "$name" "$rps" "$p99" \
    "$us_per_request" "$errors"
  rows+=("$name $rps $p99")
}

echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s, balancer threads $THREADS, $(haproxy -v | head -1)"
# On a shared machine the load of the moment moves every figure: the three balancers are
# measured in ROUNDS interleaved rounds, and the median of each is compared.
run "(a) backend alone" "http://${BACKENDS[0]}$PATH_Q" "$(pgrep -P "${pids[0]}" | head -1)"
rows=()
for round in $(seq 1 "$ROUNDS"); do
  run "(b) isla balancer" "http://$ISLA_ADDR$PATH_Q" "$isla_pid"
  run "(c) isla balancer, pipelined" "http://$ISLA_PIPELINED_ADDR$PATH_Q" "$isla_pipelined_pid"
  run "(d) haproxy" "http://$HAPROXY_ADDR$PATH_Q" "$haproxy_pid"
done
# median NAME COLUMN(1: req/s, 0: p99): over the rounds of one row.
median() {
  for row in "${rows[@]}"; do [[ "$row" == "$1 "* ]] && awk -v n="$2" '{ print $(NF - n) }' <<<"$row"; done |
    sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "medians over $ROUNDS rounds:"
for name in "(b) isla balancer" "(c) isla balancer, pipelined" "(d) haproxy"; do
  printf '%-34s %10s req/s   p99 %8s ms\n' "$name" "$(median "$name" 1)" "$(median "$name" 0)"
done
for name in "(b) isla balancer" "(c) isla balancer, pipelined"; do
  awk -v name="$name" -v a="$(median "$name" 1)" -v b="$(median "(d) haproxy" 1)" \
    -v pa="$(median "$name" 0)" -v pb="$(median "(d) haproxy" 0)" 'BEGIN {
    printf "%s / haproxy: %.2fx req/s (goal >= 1.10), p99 %.3f ms vs %.3f ms (goal: no worse)\n",
      name, a / b, pa, pb }'
done
# Every backend took a share through the isla balancer.
curl -s "http://$ISLA_ADMIN/api/backends" | tr '{' '\n' | awk -F'"requests":' 'NF > 1 {
  split($2, v, ","); printf "isla (b) backend requests: %s\n", v[1] }' | head -3
