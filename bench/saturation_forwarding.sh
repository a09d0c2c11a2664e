#!/usr/bin/env bash
# Issue 11: a gateway under overload, with saturation forwarding on vs off.
#
# An island of 3 gateways (127.0.12.1-3:5235, the store's voters, one island secret, --threads
# GATEWAY_THREADS each) and 3 piece servers (127.0.12.11-13:1233) that serve the figure with
# --response-delay-ms RESPONSE_DELAY_MS, announced to every gateway. wrk drives gateway 1 alone,
# with far more connections (CONNECTIONS) than it is allowed in flight:
#   off  gateway 1 without a limit: it serves every request itself
#   on   gateway 1 with --max-inflight MAX_INFLIGHT: beyond it, new requests go to the least
#        loaded peer gateway (503 with Retry-After when every peer is saturated too)
# Gateway 1 is restarted between the two (same data dir); the others keep running. Each run
# is a WARMUP-second warm-up, then DURATION s of wrk --latency; ROUNDS alternates off and on.
# Reported per run: req/s, p50, p99, non-2xx + socket errors, the share gateway 1 forwarded
# (isla_requests_forwarded_total{reason="saturated"}) and refused, and the CPU time all
# gateways and piece servers spent per request; then on/off ratios. It reports, never asserts.
# Everything shares one machine's cores with wrk: peers add CPU here only in so far as the
# machine has idle cores, unlike an island of separate hosts.
#
# Knobs (environment): DURATION (s, 10), CONNECTIONS (256), MAX_INFLIGHT (32),
# RESPONSE_DELAY_MS (5), GATEWAY_THREADS (1), ROUNDS (1), ISLA_BIN (build/isla).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-256}"
MAX_INFLIGHT="${MAX_INFLIGHT:-32}"
RESPONSE_DELAY_MS="${RESPONSE_DELAY_MS:-5}"
GATEWAY_THREADS="${GATEWAY_THREADS:-1}"
ROUNDS="${ROUNDS:-1}"
ISLA_BIN="${ISLA_BIN:-build/isla}"
WRK_THREADS=2
WARMUP=2
FIGURE=giraffe
PATH_Q="/api/figures/${FIGURE}"
GATEWAYS=(127.0.12.1:5235 127.0.12.2:5235 127.0.12.3:5235)
PIECES=(127.0.12.11:1233 127.0.12.12:1233 127.0.12.13:1233)

note() { echo "saturation_forwarding: $*" >&2; }
die() {
  note "$*"
  exit 1
}
source "$root/bench/lib/proxy_bench.sh"
source "$root/bench/lib/wrk.sh"
source "$root/bench/lib/proc_cpu.sh"
source "$root/bench/lib/quiet.sh"

# ---------------------------------------------------------------- preconditions
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run 'make deps' first"
done
for knob in DURATION CONNECTIONS MAX_INFLIGHT RESPONSE_DELAY_MS GATEWAY_THREADS ROUNDS; do
  [[ "${!knob}" =~ ^[0-9]+$ && "${!knob}" -gt 0 ]] || die "$knob must be a positive integer"
done
[[ -x "$ISLA_BIN" ]] || die "isla binary '$ISLA_BIN' not found; run 'make build' (or set ISLA_BIN)"
[[ -f "data/figures/${FIGURE}.toml" ]] || die "catalogue entry data/figures/${FIGURE}.toml is missing"
if command -v ss >/dev/null 2>&1; then
  for addr in "${GATEWAYS[@]}" "${PIECES[@]}"; do
    ! ss -Hltn "src = ${addr}" 2>/dev/null | grep -q . ||
      die "something already listens on ${addr} (another benchmark still running?)"
  done
fi

# ---------------------------------------------------------------- cleanup
tmp="$(mktemp -d "${TMPDIR:-/tmp}/isla-saturation.XXXXXX")"
declare -a gw_pid=() pieces_pid=()
wrk_pid=""

cleanup() {
  local rc=$? pids=() pid
  set +e
  [[ -n "$wrk_pid" ]] && kill -TERM "$wrk_pid" 2>/dev/null && wait "$wrk_pid" 2>/dev/null
  for pid in "${gw_pid[@]}" "${pieces_pid[@]}"; do [[ -n "$pid" ]] && pids+=("$pid"); done
  ((${#pids[@]})) && stop_pids "${pids[@]}"
  if ((rc != 0)); then
    print_log_tails "$tmp" 10 "$tmp"/*.log
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the island
secret="$tmp/island.secret"
"$ISLA_BIN" secret init --out "$secret" >"$tmp/secret.log" 2>&1 ||
  { cat "$tmp/secret.log" >&2; die "isla secret init failed"; }
voters="$(IFS=,; echo "${GATEWAYS[*]}")"

# start_gateway I [FLAGS...]
start_gateway() {
  local i=$1
  shift
  mkdir -p "$tmp/gw$i"
  "$ISLA_BIN" gateway --listen "${GATEWAYS[i]}" --island saturation --data-dir "$tmp/gw$i" \
    --store-voters "$voters" --secret-file "$secret" --threads "$GATEWAY_THREADS" "$@" \
    >>"$tmp/gw$i.log" 2>&1 &
  gw_pid[i]=$!
}

# ready I: gateway I routes to every piece server, answers the figure, and the island agrees
# that every gateway is alive (so that gateway 1 has peers to forward to).
ready() {
  local i=$1 p
  for p in "${PIECES[@]}"; do
    wait_until "gateway ${GATEWAYS[i]} (knows $p)" 30 "${gw_pid[i]}" \
      gateway_knows_pieces "http://${GATEWAYS[i]}" "$p"
  done
  wait_until "gateway ${GATEWAYS[i]} (figure routed)" 30 "${gw_pid[i]}" figure_ok "http://${GATEWAYS[i]}"
  python3 "$root/bench/lib/swim_watch.py" converged --nodes "$voters" --timeout 30 ||
    die "the gateways do not all see each other alive"
}

for i in 0 1 2; do start_gateway "$i"; done
for i in 0 1 2; do
  mkdir -p "$tmp/pieces$i"
  "$ISLA_BIN" pieces --listen "${PIECES[i]}" --gateway "$voters" --catalog data/figures \
    --figures "$FIGURE" --data-dir "$tmp/pieces$i" --secret-file "$secret" \
    --response-delay-ms "$RESPONSE_DELAY_MS" >"$tmp/pieces$i.log" 2>&1 &
  pieces_pid[i]=$!
done
for i in 0 1 2; do
  wait_until "piece server ${PIECES[i]}" 30 "${pieces_pid[i]}" figure_ok "http://${PIECES[i]}"
done
for i in 0 1 2; do ready "$i"; done

# ---------------------------------------------------------------- measure
# counter NAME: the sum of gateway 1's samples of that counter (all labels), 0 if none yet.
counter() {
  curl -s --max-time 2 "http://${GATEWAYS[0]}/metrics" |
    awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%d", s }'
}

declare -a rows=()
declare -A rps_sum=() runs=() p50_of=() p99_of=()

# run MODE: restarts gateway 1 in MODE (on|off), then warm-up and the measured run.
run() {
  local mode=$1 flags=() out requests rps p50 p99 non2xx sockerr fwd0 ref0 fwd ref cpu0 cpu1
  [[ "$mode" == on ]] && flags=(--max-inflight "$MAX_INFLIGHT")
  stop_pids "${gw_pid[0]}"
  start_gateway 0 "${flags[@]}"
  ready 0
  wait_for_quiet
  note "$mode: warm-up ${WARMUP}s, then ${DURATION}s (-t${WRK_THREADS} -c${CONNECTIONS}) -> ${GATEWAYS[0]}"
  wrk_bg "$tmp/wrk-warmup.txt" -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "http://${GATEWAYS[0]}${PATH_Q}"
  fwd0="$(counter isla_requests_forwarded_total)"
  ref0="$(counter isla_requests_refused_saturated_total)"
  cpu0="$(cpu_ticks "${gw_pid[@]}" "${pieces_pid[@]}")"
  wrk_bg "$tmp/wrk-$mode.txt" -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
    "http://${GATEWAYS[0]}${PATH_Q}"
  cpu1="$(cpu_ticks "${gw_pid[@]}" "${pieces_pid[@]}")"
  fwd=$(($(counter isla_requests_forwarded_total) - fwd0))
  ref=$(($(counter isla_requests_refused_saturated_total) - ref0))
  out="$(<"$tmp/wrk-$mode.txt")"
  requests="$(awk '/ requests in / { print $1 }' <<<"$out")"
  rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")"
  p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")"
  p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")"
  [[ "$requests" =~ ^[0-9]+$ && "$requests" -gt 0 && -n "$rps" ]] ||
    { printf '%s\n' "$out" >&2; die "$mode: could not parse wrk's output"; }
  non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")"
  sockerr="$(awk '/Socket errors:/ { s = 0; for (i = 3; i <= NF; i += 2) s += $(i + 1); print s }' <<<"$out")"
  rps_sum[$mode]="$(awk -v a="${rps_sum[$mode]:-0}" -v b="$rps" 'BEGIN { print a + b }')"
  runs[$mode]=$((${runs[$mode]:-0} + 1))
  p50_of[$mode]="$p50" p99_of[$mode]="$p99"
  rows+=("$(printf '%-4s %-22s %9.0f %8.2f %8.2f %8d %9.1f%% %8.1f%% %9s' "$mode" \
    "$([[ "$mode" == on ]] && echo "--max-inflight $MAX_INFLIGHT" || echo "no limit")" "$rps" \
    "$p50" "$p99" $((${non2xx:-0} + ${sockerr:-0})) \
    "$(awk -v f="$fwd" -v n="$requests" 'BEGIN { printf "%.1f", 100 * f / n }')" \
    "$(awk -v f="$ref" -v n="$requests" 'BEGIN { printf "%.1f", 100 * f / n }')" \
    "$(us_per_request $((cpu1 - cpu0)) "$requests")")")
}
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= ROUNDS; round++)); do
  run off
  run on
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- report
cpu_model="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
echo "saturation forwarding on vs off — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine : nproc=$(nproc), ${cpu_model:-unknown CPU}, kernel $(uname -r)"
echo "load avg: ${load_before} before, ${load_after} after (1/5/15 min)"
echo "isla    : commit ${commit}, ${ISLA_BIN}; 3 gateways --threads ${GATEWAY_THREADS}, 3 piece servers --response-delay-ms ${RESPONSE_DELAY_MS}"
echo "load    : wrk -t${WRK_THREADS} -c${CONNECTIONS} -d${DURATION}s --latency GET ${PATH_Q} -> gateway 1 (after ${WARMUP}s warm-up), ${ROUNDS} round(s)"
echo
printf '%-4s %-22s %9s %8s %8s %8s %10s %9s %9s\n' mode "gateway 1" "req/s" "p50 ms" "p99 ms" \
  errors forwarded refused "CPU us/req"
for row in "${rows[@]}"; do echo "$row"; done
echo
echo "on/off: req/s $(awk -v a="${rps_sum[on]}" -v b="${rps_sum[off]}" -v n="${runs[on]}" -v m="${runs[off]}" \
  'BEGIN { printf "%.2f", (a / n) / (b / m) }') (mean of the rounds)," \
  "p50 $(awk -v a="${p50_of[on]}" -v b="${p50_of[off]}" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')," \
  "p99 $(awk -v a="${p99_of[on]}" -v b="${p99_of[off]}" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }') (last round)"
echo "errors: non-2xx + socket errors. forwarded / refused: share of the requests gateway 1 sent"
echo "to a peer / answered 503 because every peer was saturated too. CPU: all 6 processes."
