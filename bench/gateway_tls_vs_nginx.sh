#!/usr/bin/env bash
# Benchmarks the isla gateway against nginx as a TLS-terminating reverse proxy that also calls
# the piece server over TLS (issue 10's TLS goal), with a plain-HTTP pair in the same run so
# that the cost of TLS is visible for both:
#
#   TLS  (t1) wrk https -> piece server (--tls-dir)                           ceiling, no proxy
#        (t2) wrk https -> isla gateway (--tls-dir) -> https piece server      under test
#        (t3) wrk https -> nginx (ssl listener, proxy_pass https://, proxy_ssl_verify,
#                          proxy_ssl_session_reuse, upstream keepalive) -> https piece server
#        (t4) as (t2) with --upstream-pipeline 1 (one request per upstream connection at a
#             time, as nginx does; reported, no goal)
#   plain (p1) wrk http -> plain piece server; (p2) -> plain isla gateway; (p3) -> plain nginx
#
# Goal (reported, never asserted): (t2) req/s >= 1.0 x (t3) req/s.
# Every isla node gets the same island secret (--secret-file), as in production: the gateway
# signs its requests to the piece server and the piece server checks them (figure reads are
# open to anonymous callers, so nginx's unsigned requests are served too).
#
# Knobs (environment): DURATION (s, default 10), CONNECTIONS (default 64), ISLA_BIN (default
# build/isla, relative to the repo root), GATEWAY_THREADS / PIECES_THREADS (default 0 = one per
# core), NGINX_WORKERS (nginx worker_processes, default 1 as in gateway_vs_nginx.sh; "auto" = one
# per core), MAX_SECONDS (whole-run deadline, default 60 + 7 x (DURATION + 2) x 1.5).
# Only loopback addresses in 127.0.6.0/24 are used; all state lives in a temp dir.
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

GATEWAY_TLS_ADDR=127.0.6.1:5235
NGINX_HOST=127.0.6.2
NGINX_TLS_ADDR=${NGINX_HOST}:8443
NGINX_PLAIN_ADDR=${NGINX_HOST}:8080
GATEWAY_PLAIN_ADDR=127.0.6.3:5235
GATEWAY_TLS_P1_ADDR=127.0.6.4:5235
PIECES_TLS_ADDR=127.0.6.11:1233
PIECES_PLAIN_ADDR=127.0.6.12:1233

die() { echo "bench: $*" >&2; exit 1; }
source "$root/bench/lib/proxy_bench.sh"
source "$root/bench/lib/nginx.sh"

# ---------------------------------------------------------------- preconditions
for tool in wrk nginx curl openssl; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run 'make deps' first"
done
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -gt 0 ]] || die "DURATION must be a positive integer (got '$DURATION')"
[[ "$CONNECTIONS" =~ ^[0-9]+$ && "$CONNECTIONS" -ge "$WRK_THREADS" ]] ||
  die "CONNECTIONS must be an integer >= $WRK_THREADS (got '$CONNECTIONS')"
NGINX_WORKERS="${NGINX_WORKERS:-1}"
[[ "$NGINX_WORKERS" =~ ^([1-9][0-9]*|auto)$ ]] || die "NGINX_WORKERS must be a positive integer or 'auto'"
MAX_SECONDS="${MAX_SECONDS:-$((60 + 7 * (DURATION + WARMUP) * 3 / 2))}"
[[ "$MAX_SECONDS" =~ ^[0-9]+$ && "$MAX_SECONDS" -gt 0 ]] || die "MAX_SECONDS must be a positive integer"
[[ -x "$ISLA_BIN" ]] || die "isla binary '$ISLA_BIN' not found or not executable; run 'make build' (or set ISLA_BIN)"
[[ -f "data/figures/${FIGURE}.toml" ]] || die "catalogue entry data/figures/${FIGURE}.toml is missing"
nginx -V 2>&1 | grep -q -- '--with-http_ssl_module' || die "this nginx has no http_ssl_module"

command -v ss >/dev/null 2>&1 || die "'ss' (iproute2) not found: cannot check that the ports are free"
for addr in "$GATEWAY_TLS_ADDR" "$GATEWAY_PLAIN_ADDR" "$GATEWAY_TLS_P1_ADDR" "$NGINX_TLS_ADDR" \
  "$NGINX_PLAIN_ADDR" "$PIECES_TLS_ADDR" "$PIECES_PLAIN_ADDR"; do
  # TCP for HTTP; the isla nodes also bind UDP (membership) on the same address.
  if ss -Hltn "src = ${addr}" 2>/dev/null | grep -q . || ss -Hlun "src = ${addr}" 2>/dev/null | grep -q .; then
    die "something already listens on ${addr} (another benchmark still running?)"
  fi
done

# ---------------------------------------------------------------- cleanup
tmp="$(mktemp -d "${TMPDIR:-/tmp}/isla-tlsbench.XXXXXX")"
pids=()
wrk_pid=""
watchdog_pid=""

cleanup() {
  local rc=$?
  set +e
  [[ -n "$watchdog_pid" ]] && kill -TERM "$watchdog_pid" 2>/dev/null && wait "$watchdog_pid" 2>/dev/null
  [[ -n "$wrk_pid" ]] && kill -TERM "$wrk_pid" 2>/dev/null && wait "$wrk_pid" 2>/dev/null
  stop_pids "${pids[@]}"
  if ((rc != 0)); then
    print_log_tails "$tmp" 20 "$tmp"/*.log "$tmp"/nginx/error.log "$tmp"/nginx/stderr.log
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The whole run is bounded: past MAX_SECONDS the watchdog sends us SIGTERM (-> cleanup).
(
  trap 'kill "$s" 2>/dev/null; exit 0' TERM
  sleep "$MAX_SECONDS" &
  s=$!
  wait "$s"
  echo "bench: still running after ${MAX_SECONDS}s (MAX_SECONDS): stopping" >&2
  kill -TERM $$
) &
watchdog_pid=$!

# ---------------------------------------------------------------- helpers
source "$root/bench/lib/wrk.sh"
source "$root/bench/lib/proc_cpu.sh"

CA="$tmp/tls/ca.pem"
CURL_TLS_ARGS=(--cacert "$CA")
# url ADDR TLS(0|1)
url() { if [[ "$2" == 1 ]]; then echo "https://$1"; else echo "http://$1"; fi; }

# tls_params ADDR: "TLSv1.3 TLS_AES_256_GCM_SHA384" as negotiated by a default OpenSSL client.
tls_params() {
  timeout 5 openssl s_client -connect "$1" -CAfile "$CA" -brief </dev/null 2>&1 |
    awk -F': *' '/^Protocol version/ { p = $2 } /^Ciphersuite/ { c = $2 }
      END { printf "%s %s\n", (p ? p : "?"), (c ? c : "?") }'
}

# run_wrk NAME URL PROXY_PIDS PIECES_PID: warm-up, then the measured run; sets RPS, P50, P99,
# ERR and the CPU µs per request of the proxy (sum over PROXY_PIDS, "" for none), of the
# piece server and of wrk.
declare -A RPS P50 P99 ERR CPU_PROXY CPU_PIECES CPU_WRK
run_wrk() {
  local name="$1" url="$2" proxy_pids="$3" pieces_pid="$4"
  local out rps p50raw p99raw non2xx sockerr reqs p0 p1 s0 s1 w0 w1
  echo "== ${name}: warm-up ${WARMUP}s, then ${DURATION}s (-t${WRK_THREADS} -c${CONNECTIONS}) -> ${url}" >&2
  wrk_bg "$tmp/wrk-${name}-warmup.txt" -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url"
  # shellcheck disable=SC2086 # proxy_pids is a list
  p0="$(cpu_ticks $proxy_pids)"; s0="$(cpu_ticks "$pieces_pid")"; children_cpu_ticks "$tmp/times"; w0="$CHILD_TICKS"
  wrk_bg "$tmp/wrk-${name}.txt" -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url"
  # shellcheck disable=SC2086
  p1="$(cpu_ticks $proxy_pids)"; s1="$(cpu_ticks "$pieces_pid")"; children_cpu_ticks "$tmp/times"; w1="$CHILD_TICKS"
  out="$(<"$tmp/wrk-${name}.txt")"
  rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")"
  p50raw="$(awk '$1 == "50%" { print $2 }' <<<"$out")"
  p99raw="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  reqs="$(awk '/ requests in / { print $1 }' <<<"$out")"
  [[ -n "$rps" && -n "$p50raw" && -n "$p99raw" && -n "$reqs" ]] ||
    { printf '%s\n' "$out" >&2; die "${name}: could not parse wrk output"; }
  non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")"
  sockerr="$(awk '/Socket errors:/ { s = 0; for (i = 3; i <= NF; i += 2) s += $(i + 1); print s }' <<<"$out")"
  RPS[$name]="$rps"
  P50[$name]="$(to_ms "$p50raw")"
  P99[$name]="$(to_ms "$p99raw")"
  ERR[$name]=$((${non2xx:-0} + ${sockerr:-0}))
  if [[ -n "$proxy_pids" ]]; then CPU_PROXY[$name]="$(us_per_request $((p1 - p0)) "$reqs")"; else CPU_PROXY[$name]="-"; fi
  CPU_PIECES[$name]="$(us_per_request $((s1 - s0)) "$reqs")"
  CPU_WRK[$name]="$(us_per_request $((w1 - w0)) "$reqs")"
}

# ---------------------------------------------------------------- start the servers
# Everything shares the CPU with wrk, so other work on the machine skews the numbers: record it.
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$tmp/pieces-tls" "$tmp/pieces-plain" "$tmp/gateway-tls" "$tmp/gateway-plain" \
  "$tmp/gateway-tls-p1" "$tmp/nginx"
"$ISLA_BIN" certs init --dir "$tmp/tls" --hosts \
  "${GATEWAY_TLS_ADDR%:*},${GATEWAY_TLS_P1_ADDR%:*},${NGINX_HOST},${PIECES_TLS_ADDR%:*}" \
  >"$tmp/certs.log" 2>&1 || { cat "$tmp/certs.log" >&2; die "isla certs init failed"; }
"$ISLA_BIN" secret init --out "$tmp/secret" >"$tmp/secret.log" 2>&1 ||
  { cat "$tmp/secret.log" >&2; die "isla secret init failed"; }

common=(--secret-file "$tmp/secret")

"$ISLA_BIN" gateway --listen "$GATEWAY_TLS_ADDR" --data-dir "$tmp/gateway-tls" "${common[@]}" \
  --tls-dir "$tmp/tls" --threads "${GATEWAY_THREADS:-0}" >"$tmp/gateway-tls.log" 2>&1 &
gateway_tls_pid=$!
pids+=("$gateway_tls_pid")

"$ISLA_BIN" gateway --listen "$GATEWAY_TLS_P1_ADDR" --data-dir "$tmp/gateway-tls-p1" "${common[@]}" \
  --tls-dir "$tmp/tls" --threads "${GATEWAY_THREADS:-0}" --upstream-pipeline 1 \
  >"$tmp/gateway-tls-p1.log" 2>&1 &
gateway_tls_p1_pid=$!
pids+=("$gateway_tls_p1_pid")

"$ISLA_BIN" gateway --listen "$GATEWAY_PLAIN_ADDR" --data-dir "$tmp/gateway-plain" "${common[@]}" \
  --threads "${GATEWAY_THREADS:-0}" >"$tmp/gateway-plain.log" 2>&1 &
gateway_plain_pid=$!
pids+=("$gateway_plain_pid")

"$ISLA_BIN" pieces --listen "$PIECES_TLS_ADDR" --gateway "$GATEWAY_TLS_ADDR,$GATEWAY_TLS_P1_ADDR" \
  "${common[@]}" --tls-dir "$tmp/tls" --catalog data/figures --figures "$FIGURE" \
  --data-dir "$tmp/pieces-tls" --threads "${PIECES_THREADS:-0}" >"$tmp/pieces-tls.log" 2>&1 &
pieces_tls_pid=$!
pids+=("$pieces_tls_pid")

"$ISLA_BIN" pieces --listen "$PIECES_PLAIN_ADDR" --gateway "$GATEWAY_PLAIN_ADDR" \
  "${common[@]}" --catalog data/figures --figures "$FIGURE" \
  --data-dir "$tmp/pieces-plain" --threads "${PIECES_THREADS:-0}" >"$tmp/pieces-plain.log" 2>&1 &
pieces_plain_pid=$!
pids+=("$pieces_plain_pid")

wait_until "TLS piece server" 15 "$pieces_tls_pid" figure_ok "$(url "$PIECES_TLS_ADDR" 1)"
wait_until "plain piece server" 15 "$pieces_plain_pid" figure_ok "$(url "$PIECES_PLAIN_ADDR" 0)"
wait_until "TLS gateway (piece server registered)" 15 "$gateway_tls_pid" \
  gateway_knows_pieces "$(url "$GATEWAY_TLS_ADDR" 1)" "$PIECES_TLS_ADDR"
wait_until "TLS gateway (figure routed)" 15 "$gateway_tls_pid" figure_ok "$(url "$GATEWAY_TLS_ADDR" 1)"
wait_until "TLS gateway, pipeline 1 (piece server registered)" 15 "$gateway_tls_p1_pid" \
  gateway_knows_pieces "$(url "$GATEWAY_TLS_P1_ADDR" 1)" "$PIECES_TLS_ADDR"
wait_until "TLS gateway, pipeline 1 (figure routed)" 15 "$gateway_tls_p1_pid" \
  figure_ok "$(url "$GATEWAY_TLS_P1_ADDR" 1)"
wait_until "plain gateway (piece server registered)" 15 "$gateway_plain_pid" \
  gateway_knows_pieces "$(url "$GATEWAY_PLAIN_ADDR" 0)" "$PIECES_PLAIN_ADDR"
wait_until "plain gateway (figure routed)" 15 "$gateway_plain_pid" figure_ok "$(url "$GATEWAY_PLAIN_ADDR" 0)"

# nginx: one worker by default, as in the plain bench (NGINX_WORKERS). The keys stay 0600:
# nginx's master reads them (and the CA) before the worker drops privileges.
nginx_setup "$tmp/nginx" "$CONNECTIONS"
{
  nginx_conf_start "${NGINX_WORKERS}"
  cat <<EOF

    upstream pieces_tls {
        server ${PIECES_TLS_ADDR};
        keepalive 64;
    }
    upstream pieces_plain {
        server ${PIECES_PLAIN_ADDR};
        keepalive 64;
    }

    # TLS: the same kind of certificate as the gateway's (isla certs init, ECDSA P-256, for
    # nginx's own address), TLS 1.2/1.3 as isla offers; to the piece server over TLS, verified
    # against the island CA, sessions resumed, connections kept alive.
    server {
        listen ${NGINX_TLS_ADDR} ssl;
        ssl_certificate     ${tmp}/tls/${NGINX_HOST}.pem;
        ssl_certificate_key ${tmp}/tls/${NGINX_HOST}.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass https://pieces_tls;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
            proxy_ssl_session_reuse on;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate ${CA};
            proxy_ssl_name ${PIECES_TLS_ADDR%:*};
        }
    }

    server {
        listen ${NGINX_PLAIN_ADDR};
        location / {
            proxy_pass http://pieces_plain;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
} >"$nginx_conf"
nginx_start
wait_until "nginx (TLS)" 15 "$nginx_pid" figure_ok "$(url "$NGINX_TLS_ADDR" 1)"
wait_until "nginx (plain)" 15 "$nginx_pid" figure_ok "$(url "$NGINX_PLAIN_ADDR" 0)"
# CPU of nginx = master + its worker(s).
nginx_pids="$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"

tls_gateway="$(tls_params "$GATEWAY_TLS_ADDR")"
tls_nginx="$(tls_params "$NGINX_TLS_ADDR")"
tls_pieces="$(tls_params "$PIECES_TLS_ADDR")"

# ---------------------------------------------------------------- measure
# Plain first, then TLS; within each, direct, gateway, nginx.
run_wrk p1 "$(url "$PIECES_PLAIN_ADDR" 0)${PATH_Q}" "" "$pieces_plain_pid"
run_wrk p2 "$(url "$GATEWAY_PLAIN_ADDR" 0)${PATH_Q}" "$gateway_plain_pid" "$pieces_plain_pid"
run_wrk p3 "$(url "$NGINX_PLAIN_ADDR" 0)${PATH_Q}" "$nginx_pids" "$pieces_plain_pid"
run_wrk t1 "$(url "$PIECES_TLS_ADDR" 1)${PATH_Q}" "" "$pieces_tls_pid"
run_wrk t2 "$(url "$GATEWAY_TLS_ADDR" 1)${PATH_Q}" "$gateway_tls_pid" "$pieces_tls_pid"
run_wrk t3 "$(url "$NGINX_TLS_ADDR" 1)${PATH_Q}" "$nginx_pids" "$pieces_tls_pid"
run_wrk t4 "$(url "$GATEWAY_TLS_P1_ADDR" 1)${PATH_Q}" "$gateway_tls_p1_pid" "$pieces_tls_pid"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- report
cpu_model="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo
echo "isla gateway vs nginx over TLS (issue 10) — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine : nproc=$(nproc), ${cpu_model:-unknown CPU}, kernel $(uname -r)"
echo "load avg: ${load_before} before, ${load_after} after (1/5/15 min; anything near nproc before means a noisy result)"
echo "isla    : commit ${commit}, binary ${ISLA_BIN}; every node with --secret-file (signed gateway -> piece server requests)"
echo "nginx   : $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(openssl version | cut -d' ' -f1-2), worker_processes ${NGINX_WORKERS}, upstream keepalive 64, proxy_ssl_session_reuse on, proxy_ssl_verify on"
echo "TLS     : client -> gateway ${tls_gateway}; client -> nginx ${tls_nginx}; -> piece server ${tls_pieces} (ECDSA P-256 certificates)"
echo "load    : wrk -t${WRK_THREADS} -c${CONNECTIONS} -d${DURATION}s --latency GET ${PATH_Q} (after ${WARMUP}s warm-up)"
echo
printf '%-34s %10s %8s %8s %7s %12s %12s %10s\n' "target" "req/s" "p50 ms" "p99 ms" "errors" \
  "proxy us/req" "pieces us/rq" "wrk us/rq"
printf '%-34s %10s %8s %8s %7s %12s %12s %10s\n' "----------------------------------" "----------" \
  "--------" "--------" "-------" "------------" "------------" "----------"
row() {
  printf '%-34s %10.0f %8.2f %8.2f %7d %12s %12s %10s\n' "$1" "${RPS[$2]}" "${P50[$2]}" "${P99[$2]}" \
    "${ERR[$2]}" "${CPU_PROXY[$2]}" "${CPU_PIECES[$2]}" "${CPU_WRK[$2]}"
}
row "(p1) plain: piece server direct" p1
row "(p2) plain: isla gateway" p2
row "(p3) plain: nginx" p3
row "(t1) TLS: piece server direct" t1
row "(t2) TLS: isla gateway" t2
row "(t3) TLS: nginx" t3
row "(t4) TLS: gateway, pipeline 1" t4
echo
tls_ratio="$(ratio "${RPS[t2]}" "${RPS[t3]}")"
verdict="$(awk -v r="$tls_ratio" 'BEGIN { print (r != "n/a" && r + 0 >= 1.0) ? "met" : "not met" }')"
echo "TLS   isla/nginx req/s (t2)/(t3) : ${tls_ratio}   p50 $(ratio "${P50[t2]}" "${P50[t3]}")   p99 $(ratio "${P99[t2]}" "${P99[t3]}")"
echo "plain isla/nginx req/s (p2)/(p3) : $(ratio "${RPS[p2]}" "${RPS[p3]}")   p50 $(ratio "${P50[p2]}" "${P50[p3]}")   p99 $(ratio "${P99[p2]}" "${P99[p3]}")"
echo "TLS without pipelining (t4)/(t3) : $(ratio "${RPS[t4]}" "${RPS[t3]}")"
echo "cost of TLS, req/s TLS/plain     : isla $(ratio "${RPS[t2]}" "${RPS[p2]}"), nginx $(ratio "${RPS[t3]}" "${RPS[p3]}"), piece server direct $(ratio "${RPS[t1]}" "${RPS[p1]}")"
echo "goal ≥ 1.0×: ${verdict}"
if ((ERR[p1] + ERR[p2] + ERR[p3] + ERR[t1] + ERR[t2] + ERR[t3] + ERR[t4] > 0)); then
  echo "warning: some requests failed (non-2xx or socket errors); see the errors column" >&2
fi
