#!/usr/bin/env bash
# Benchmarks the isla gateway against nginx as a reverse proxy in front of one piece server.
#
#   (a) wrk -> piece server                    (the ceiling: no proxy at all)
#   (b) wrk -> isla gateway -> piece server
#   (c) wrk -> nginx (1 worker, keep-alive upstream) -> piece server
#   (d) wrk -> isla gateway with --upstream-pipeline 1 -> piece server: (b) without HTTP/1.1
#       pipelining to the piece server, one request per upstream connection as nginx does,
#       to show what the pipelining is worth (reported, no goal)
#   (e) wrk -> isla gateway -> piece server, both with the same island secret (--secret-file):
#       every proxied request signed by the gateway and verified by the piece server (issue 10)
#   (f) (e) with --upstream-pipeline 1: the cost of signing without pipelining's batching
#
# Goals: (b) req/s >= 1.1 x (c) req/s, with (b) p99 <= (c) p99, and the gateway's idle RSS <= 20 MB;
# with signing (issue 10), the same for (e): (e) req/s >= 1.1 x (c) req/s, (e) p99 <= (c) p99.
# Besides req/s and p99, each row gets the CPU time its server processes spent per request
# (utime + stime from /proc/PID/stat over the measured run), so that the CPU cost of signing
# shows as (e) - (b) in µs per request; then bench/auth_cost (if built) prints the cost of
# signing and verifying one request, single-threaded, without any I/O.
#
# Knobs (environment): DURATION (s, default 10), CONNECTIONS (default 64),
# ISLA_BIN (default build/isla, relative to the repo root), AUTH_COST_BIN (default
# build/bench/auth_cost; skipped with a note if missing: `cmake --build build --target auth_cost`).
# Only loopback addresses in 127.0.3.0/24 are used; all state lives in a temp dir.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
ISLA_BIN="${ISLA_BIN:-build/isla}"
AUTH_COST_BIN="${AUTH_COST_BIN:-build/bench/auth_cost}"
WRK_THREADS=2
WARMUP=2
FIGURE=giraffe
PATH_Q="/api/figures/${FIGURE}"

PIECES_ADDR=127.0.3.11:1233
GATEWAY_ADDR=127.0.3.1:5235
GATEWAY_PLAIN_ADDR=127.0.3.3:5235
NGINX_ADDR=127.0.3.2:8080
# The signed island: its own piece server, so that the unsigned rows run exactly as before
# and the signed gateways know only a piece server that verifies what they sign.
PIECES_SIGNED_ADDR=127.0.3.12:1233
GATEWAY_SIGNED_ADDR=127.0.3.4:5235
GATEWAY_SIGNED_PLAIN_ADDR=127.0.3.5:5235

die() { echo "bench: $*" >&2; exit 1; }
source "$root/bench/lib/proxy_bench.sh"
source "$root/bench/lib/nginx.sh"

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
  for addr in "$PIECES_ADDR" "$GATEWAY_ADDR" "$GATEWAY_PLAIN_ADDR" "$NGINX_ADDR" \
    "$PIECES_SIGNED_ADDR" "$GATEWAY_SIGNED_ADDR" "$GATEWAY_SIGNED_PLAIN_ADDR"; do
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
  [[ -n "$wrk_pid" ]] && kill -TERM "$wrk_pid" 2>/dev/null && wait "$wrk_pid" 2>/dev/null
  stop_pids "${pids[@]}"
  if ((rc != 0)); then
    print_log_tails "$tmp" 20 "$tmp"/pieces.log "$tmp"/gateway.log "$tmp"/gateway-plain.log "$tmp"/nginx/error.log \
      "$tmp"/nginx/stderr.log "$tmp"/pieces-signed.log "$tmp"/gateway-signed.log \
      "$tmp"/gateway-signed-plain.log
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers
rss_mb() {
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024; found = 1 } END { if (!found) print "n/a" }' "/proc/$1/status"
}

CLK_TCK="$(getconf CLK_TCK)"

source "$root/bench/lib/wrk.sh"
source "$root/bench/lib/proc_cpu.sh"

# run_wrk NAME URL [PROXY_PIDS [PIECES_PID]]: warm-up, then the measured run; sets RPS[NAME],
# P99[NAME], ERR[NAME], and with pids CPU_PROXY[NAME] and CPU_PIECES[NAME], the µs of CPU
# time those processes spent per request of the measured run (PROXY_PIDS: space-separated).
declare -A RPS P99 ERR CPU_PROXY CPU_PIECES
run_wrk() {
  local name="$1" url="$2" proxy_pids="${3:-}" pieces_pid="${4:-}" out rps p99raw non2xx sockerr
  local requests proxy0=0 pieces0=0 proxy1=0 pieces1=0
  echo "== ${name}: warm-up ${WARMUP}s, then ${DURATION}s (-t${WRK_THREADS} -c${CONNECTIONS}) -> ${url}" >&2
  wrk_bg "$tmp/wrk-${name}-warmup.txt" -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url"
  # shellcheck disable=SC2086 # proxy_pids is a list
  [[ -n "$proxy_pids" ]] && proxy0="$(cpu_ticks $proxy_pids)"
  [[ -n "$pieces_pid" ]] && pieces0="$(cpu_ticks "$pieces_pid")"
  wrk_bg "$tmp/wrk-${name}.txt" -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url"
  # shellcheck disable=SC2086
  [[ -n "$proxy_pids" ]] && proxy1="$(cpu_ticks $proxy_pids)"
  [[ -n "$pieces_pid" ]] && pieces1="$(cpu_ticks "$pieces_pid")"
  out="$(<"$tmp/wrk-${name}.txt")"
  requests="$(awk '/ requests in / { print $1 }' <<<"$out")"
  [[ "$requests" =~ ^[0-9]+$ && "$requests" -gt 0 ]] || { printf '%s\n' "$out" >&2; die "${name}: no request count in wrk's output"; }
  CPU_PROXY[$name]="$(awk -v t=$((proxy1 - proxy0)) -v hz="$CLK_TCK" -v n="$requests" \
    'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
  CPU_PIECES[$name]="$(awk -v t=$((pieces1 - pieces0)) -v hz="$CLK_TCK" -v n="$requests" \
    'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
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

mkdir -p "$tmp/pieces" "$tmp/gateway" "$tmp/gateway-plain" "$tmp/nginx/logs" \
  "$tmp/pieces-signed" "$tmp/gateway-signed" "$tmp/gateway-signed-plain"

# One island secret for the signed nodes, made as an operator would (mode 0600).
secret_file="$tmp/island.secret"
"$ISLA_BIN" secret init --out "$secret_file" >"$tmp/secret.log" 2>&1 ||
  { cat "$tmp/secret.log" >&2; die "isla secret init failed"; }

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

"$ISLA_BIN" gateway --listen "$GATEWAY_SIGNED_ADDR" --data-dir "$tmp/gateway-signed" \
  --threads "${GATEWAY_THREADS:-0}" --secret-file "$secret_file" >"$tmp/gateway-signed.log" 2>&1 &
gateway_signed_pid=$!
pids+=("$gateway_signed_pid")

"$ISLA_BIN" gateway --listen "$GATEWAY_SIGNED_PLAIN_ADDR" --data-dir "$tmp/gateway-signed-plain" \
  --threads "${GATEWAY_THREADS:-0}" --upstream-pipeline 1 --secret-file "$secret_file" \
  >"$tmp/gateway-signed-plain.log" 2>&1 &
gateway_signed_plain_pid=$!
pids+=("$gateway_signed_plain_pid")

"$ISLA_BIN" pieces --listen "$PIECES_SIGNED_ADDR" \
  --gateway "$GATEWAY_SIGNED_ADDR,$GATEWAY_SIGNED_PLAIN_ADDR" --catalog data/figures \
  --figures "$FIGURE" --data-dir "$tmp/pieces-signed" --threads "${PIECES_THREADS:-0}" \
  --secret-file "$secret_file" >"$tmp/pieces-signed.log" 2>&1 &
pieces_signed_pid=$!
pids+=("$pieces_signed_pid")

wait_until "piece server" 15 "$pieces_pid" figure_ok "http://$PIECES_ADDR"
wait_until "gateway (piece server registered)" 15 "$gateway_pid" gateway_knows_pieces "http://$GATEWAY_ADDR" "$PIECES_ADDR"
wait_until "gateway (figure routed)" 15 "$gateway_pid" figure_ok "http://$GATEWAY_ADDR"
wait_until "unpipelined gateway (piece server registered)" 15 "$gateway_plain_pid" \
  gateway_knows_pieces "http://$GATEWAY_PLAIN_ADDR" "$PIECES_ADDR"
wait_until "unpipelined gateway (figure routed)" 15 "$gateway_plain_pid" figure_ok "http://$GATEWAY_PLAIN_ADDR"
wait_until "signed piece server" 15 "$pieces_signed_pid" figure_ok "http://$PIECES_SIGNED_ADDR"
for gw in "$gateway_signed_pid:$GATEWAY_SIGNED_ADDR" "$gateway_signed_plain_pid:$GATEWAY_SIGNED_PLAIN_ADDR"; do
  wait_until "signed gateway ${gw#*:} (piece server registered)" 15 "${gw%%:*}" \
    gateway_knows_pieces "http://${gw#*:}" "$PIECES_SIGNED_ADDR"
  wait_until "signed gateway ${gw#*:} (figure routed)" 15 "${gw%%:*}" figure_ok "http://${gw#*:}"
done
# The signed rows must really be signed: the signed piece server refuses a forged signature
# (so it checks them), and its gateways' requests pass (so they carry good ones).
forged="v1 node=${GATEWAY_SIGNED_ADDR} inc=1 seq=1 ts=1 body=$(printf '%064d' 0) sig=$(printf '%064d' 0)"
[[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H "Isla-Auth: ${forged}" \
  "http://${PIECES_SIGNED_ADDR}${PATH_Q}")" == 401 ]] ||
  die "the signed piece server accepted a forged signature: is it running with --secret-file?"

nginx_setup "$tmp/nginx" "$CONNECTIONS"
{
  nginx_conf_start 1
  cat <<EOF

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
} >"$nginx_conf"
nginx_start
wait_until "nginx" 15 "$nginx_pid" figure_ok "http://$NGINX_ADDR"
# nginx's master only waits; the worker (its one child) does the proxying.
nginx_worker_pids="$(awk -v p="$nginx_pid" '{ sub(/.*\) /, ""); if ($2 == p) printf "%s ", FILENAME }' \
  /proc/[0-9]*/stat 2>/dev/null | sed -e 's#/proc/##g' -e 's#/stat##g')"
[[ -n "$nginx_worker_pids" ]] || die "nginx (pid $nginx_pid) has no worker process"

# ---------------------------------------------------------------- measure
rss_idle="$(rss_mb "$gateway_pid")"

run_wrk pieces "http://${PIECES_ADDR}${PATH_Q}" "" "$pieces_pid"
run_wrk gateway "http://${GATEWAY_ADDR}${PATH_Q}" "$gateway_pid" "$pieces_pid"
rss_loaded="$(rss_mb "$gateway_pid")"
# The signed gateway right after the unsigned one and before nginx, so that the machine's
# drift between runs weighs as little as possible on the cost of signing and on the goal.
run_wrk gateway_signed "http://${GATEWAY_SIGNED_ADDR}${PATH_Q}" "$gateway_signed_pid" "$pieces_signed_pid"
# shellcheck disable=SC2086
run_wrk nginx "http://${NGINX_ADDR}${PATH_Q}" "$nginx_worker_pids" "$pieces_pid"
run_wrk gateway_plain "http://${GATEWAY_PLAIN_ADDR}${PATH_Q}" "$gateway_plain_pid" "$pieces_pid"
run_wrk gateway_signed_plain "http://${GATEWAY_SIGNED_PLAIN_ADDR}${PATH_Q}" \
  "$gateway_signed_plain_pid" "$pieces_signed_pid"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- report
cpu_model="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"

# goal_of A B: "REQ_RATIO P99_RATIO MET|NOT-MET" for row A against row B (>= 1.1x, p99 no worse).
goal_of() {
  awk -v gr="${RPS[$1]}" -v nr="${RPS[$2]}" -v gp="${P99[$1]}" -v np="${P99[$2]}" 'BEGIN {
    t = (nr > 0) ? gr / nr : 0; p = (np > 0) ? gp / np : 0
    ok = (t >= 1.1 && gp <= np) ? "MET" : "NOT-MET"
    printf "%.2f %.2f %s\n", t, p, ok
  }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
read -r tput_ratio p99_ratio verdict <<<"$(goal_of gateway nginx)"
read -r signed_tput_ratio signed_p99_ratio signed_verdict <<<"$(goal_of gateway_signed nginx)"
rss_verdict="$(awk -v r="$rss_idle" 'BEGIN { print (r != "n/a" && r + 0 <= 20) ? "MET" : "NOT-MET" }')"

echo
echo "isla gateway vs nginx — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine : nproc=$(nproc), ${cpu_model:-unknown CPU}, kernel $(uname -r)"
echo "load avg: ${load_before} before the run, ${load_after} after (1/5/15 min; anything near nproc before means a noisy result)"
echo "isla    : commit ${commit}, binary ${ISLA_BIN}"
echo "nginx   : $(nginx -v 2>&1 | sed 's/^nginx version: //'), worker_processes 1, upstream keepalive 64"
echo "load    : wrk -t${WRK_THREADS} -c${CONNECTIONS} -d${DURATION}s --latency GET ${PATH_Q} (after ${WARMUP}s warm-up)"
echo
# CPU µs/req: CPU time (user + system) of the proxy (gateway, or nginx's worker) and of the
# piece server behind it during the measured run, divided by the requests wrk completed.
row() {
  printf '%-30s %10.0f %8.2f %6d %9s %9s %9s\n' "$1" "${RPS[$2]}" "${P99[$2]}" "${ERR[$2]}" \
    "${CPU_PROXY[$2]}" "${CPU_PIECES[$2]}" \
    "$(awk -v a="${CPU_PROXY[$2]}" -v b="${CPU_PIECES[$2]}" 'BEGIN { printf "%.1f", a + b }')"
}
printf '%-30s %10s %8s %6s %9s %9s %9s\n' "target" "req/s" "p99 ms" "errors" "proxy" "pieces" "CPU us/req"
printf '%-30s %10s %8s %6s %9s %9s %9s\n' "------------------------------" "----------" "--------" \
  "------" "---------" "---------" "---------"
row "(a) piece server direct" pieces
row "(b) isla gateway" gateway
row "(c) nginx proxy" nginx
row "(d) gateway, no pipelining" gateway_plain
row "(e) gateway, signed" gateway_signed
row "(f) signed, no pipelining" gateway_signed_plain
echo
echo "throughput ratio (b)/(c) : ${tput_ratio}  (goal >= 1.10)"
echo "p99 ratio (b)/(c)        : ${p99_ratio}  (goal <= 1.00, lower is better)"
echo "gateway vs nginx goal    : ${verdict}"
echo "without pipelining (d)/(c): $(ratio "${RPS[gateway_plain]}" "${RPS[nginx]}")  (upstream pipelining is worth (b)/(d) = $(ratio "${RPS[gateway]}" "${RPS[gateway_plain]}"))"
echo "gateway RSS idle         : ${rss_idle} MB  (goal <= 20 MB: ${rss_verdict})"
echo "gateway RSS after load   : ${rss_loaded} MB"
echo
echo "signed (e)/(c) req/s     : ${signed_tput_ratio}  (goal >= 1.10)"
echo "signed (e)/(c) p99       : ${signed_p99_ratio}  (goal <= 1.00)"
echo "signed gateway vs nginx  : ${signed_verdict}"
echo "signing costs (e)/(b)    : req/s $(ratio "${RPS[gateway_signed]}" "${RPS[gateway]}"), p99 $(ratio "${P99[gateway_signed]}" "${P99[gateway]}");" \
  "CPU us/req gateway $(awk -v a="${CPU_PROXY[gateway_signed]}" -v b="${CPU_PROXY[gateway]}" 'BEGIN { printf "%+.1f", a - b }')," \
  "piece server $(awk -v a="${CPU_PIECES[gateway_signed]}" -v b="${CPU_PIECES[gateway]}" 'BEGIN { printf "%+.1f", a - b }')"
echo "  without pipelining (f)/(d): req/s $(ratio "${RPS[gateway_signed_plain]}" "${RPS[gateway_plain]}"), p99 $(ratio "${P99[gateway_signed_plain]}" "${P99[gateway_plain]}");" \
  "CPU us/req gateway $(awk -v a="${CPU_PROXY[gateway_signed_plain]}" -v b="${CPU_PROXY[gateway_plain]}" 'BEGIN { printf "%+.1f", a - b }')," \
  "piece server $(awk -v a="${CPU_PIECES[gateway_signed_plain]}" -v b="${CPU_PIECES[gateway_plain]}" 'BEGIN { printf "%+.1f", a - b }')"
total_errors=0
for name in pieces gateway nginx gateway_plain gateway_signed gateway_signed_plain; do
  total_errors=$((total_errors + ERR[$name]))
done
if ((total_errors > 0)); then
  echo "warning: some requests failed (non-2xx or socket errors); see the errors column" >&2
fi

# ---------------------------------------------------------------- signing, without I/O
echo
if [[ -x "$AUTH_COST_BIN" ]]; then
  echo "signing and verifying one request, single-threaded ($AUTH_COST_BIN):"
  "$AUTH_COST_BIN" || die "$AUTH_COST_BIN failed"
else
  echo "($AUTH_COST_BIN not built: 'cmake --build build --target auth_cost' for the per-operation cost)"
fi
