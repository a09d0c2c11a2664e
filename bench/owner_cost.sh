#!/usr/bin/env bash
# A gateway's cost per figure request with 1 piece server vs 2 piece servers as the owners of
# every figure (docs/benchmarks.md, "The knee: at the first point, and why"), small, on loopback.
#
# Beds side by side, each one gateway (--threads 1, --partition-catalog with --replicas 2, as
# bench/scaling.sh starts them) and N piece servers (--partitioned, --threads 1), bed K on
# 127.77.K.0/24: bed 1 with one piece server, bed 2 with two, both of ISLA_BIN; with
# COMPARE_BIN, beds 3 and 4 the same of that binary. All up at once; then, ROUNDS times, each
# bed in turn: IDLE s with no load (the gateway's upkeep), then wrk -t1 -cCONNECTIONS for
# DURATION s of GET /api/figures/NAME (bench/lua/figures.lua, over the FIGURES-figure
# catalogue) while the other beds wait. Per request, over wrk's run: the gateway's CPU
# (/proc/PID/stat), also with its upkeep taken out, the piece servers' and wrk's (perf stat
# task-clock), the gateway's context switches and its system calls (perf tracepoints: a count,
# so not blurred by the machine's other load as CPU time is), and the share of upstream
# requests that were pipelined behind others (isla_upstream_requests_total). PERF=1 also
# records `perf record -g` of each gateway in round 1 (OUT/perf-K.data, OUT/perf-K.txt).
# It reports (a markdown table on stdout and in OUT/table.md); it never asserts.
#
# Knobs (environment): ROUNDS (3), DURATION (s, 5), IDLE (s, 3), CONNECTIONS (8), FIGURES (48),
# ISLA_BIN (build/isla), COMPARE_BIN (none), ISLA_LABEL and COMPARE_LABEL (what the table
# calls them: isla, compared), OUT (a new temp dir; kept), PERF (0),
# GATEWAY_FLAGS (more flags for every gateway). Needs wrk, curl, python3 and perf.
set -Eeuo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
ROUNDS="${ROUNDS:-3}" DURATION="${DURATION:-5}" IDLE="${IDLE:-3}" CONNECTIONS="${CONNECTIONS:-8}"
FIGURES="${FIGURES:-48}" PERF="${PERF:-0}" GATEWAY_FLAGS="${GATEWAY_FLAGS:-}"
ISLA_BIN="$(realpath -m "${ISLA_BIN:-build/isla}")" ISLA_LABEL="${ISLA_LABEL:-isla}"
COMPARE_BIN="${COMPARE_BIN:+$(realpath -m "$COMPARE_BIN")}" COMPARE_LABEL="${COMPARE_LABEL:-compared}"
OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/isla-owner-cost.XXXXXX")}"
mkdir -p "$OUT"
source "$root/bench/lib/proc_cpu.sh"
source "$root/bench/lib/figure_catalog.sh"
note() { echo "owner_cost: $*" >&2; }
die() {
  note "$*"
  exit 1
}
for bin in "$ISLA_BIN" ${COMPARE_BIN:+"$COMPARE_BIN"}; do [[ -x "$bin" ]] || die "no $bin"; done

# Bed K: BED_PIECES[K] piece servers, run by BED_BIN[K].
declare -A BED_PIECES BED_BIN PID
BED_PIECES=([1]=1 [2]=2) BED_BIN=([1]="$ISLA_BIN" [2]="$ISLA_BIN")
beds=(1 2)
if [[ -n "$COMPARE_BIN" ]]; then
  BED_PIECES+=([3]=1 [4]=2) BED_BIN+=([3]="$COMPARE_BIN" [4]="$COMPARE_BIN")
  beds+=(3 4)
fi
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

catalog="$OUT/catalog"
make_figure_catalog "$catalog" "$FIGURES"
secret="$OUT/island.secret"
rm -f "$secret"
"$ISLA_BIN" secret init --out "$secret" >"$OUT/secret.log" 2>&1 || die "isla secret init failed"

# start_bed K: bed K's gateway on 127.77.K.1:5235, its piece servers on 127.77.K.(10+i):1233.
start_bed() {
  local b=$1 i gw="127.77.$1.1:5235" bin="${BED_BIN[$1]}"
  # shellcheck disable=SC2086 # GATEWAY_FLAGS is a list of flags
  "$bin" gateway --listen "$gw" --island "island-$b" --threads 1 --secret-file "$secret" \
    --data-dir "$OUT/gw-$b" --partition-catalog "$catalog" --replicas 2 --seeds "$gw" \
    $GATEWAY_FLAGS >"$OUT/gw-$b.log" 2>&1 &
  PID[gw$b]=$!
  pids+=($!)
  for ((i = 1; i <= BED_PIECES[$b]; i++)); do
    "$bin" pieces --listen "127.77.$b.$((10 + i)):1233" --threads 1 --secret-file "$secret" \
      --data-dir "$OUT/piece-$b-$i" --gateway "$gw" --catalog "$catalog" --partitioned \
      >"$OUT/piece-$b-$i.log" 2>&1 &
    PID[piece$b]="${PID[piece$b]:-} $!"
    pids+=($!)
  done
}

# ready K: every figure of the catalogue routable to each of bed K's piece servers.
ready() {
  local b=$1 deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if curl -sf "http://127.77.$b.1:5235/api/figures" | python3 -c '
import json, sys
want, n = int(sys.argv[1]), int(sys.argv[2])
figures = [f for f in json.load(sys.stdin)["figures"] if len(f["servers"]) == n]
sys.exit(0 if len(figures) == want else 1)' "$FIGURES" "${BED_PIECES[$b]}" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  die "bed $b: not every figure routable to its ${BED_PIECES[$b]} piece servers within 60 s"
}

for b in "${beds[@]}"; do start_bed "$b"; done
for b in "${beds[@]}"; do ready "$b"; done
note "beds ready; output in $OUT"

# The gateway's system calls, counted by tracepoint.
SYSCALL_EVENTS="raw_syscalls:sys_enter,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom"
SYSCALL_EVENTS+=",syscalls:sys_enter_sendmsg,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_wait"
# upstream K: "OWN PIPELINED", bed K's gateway's isla_upstream_requests_total.
upstream() {
  curl -sf "http://127.77.$1.1:5235/metrics" | awk '/^isla_upstream_requests_total/ {
      if ($0 ~ /pipelined/) p += $2; else a += $2 } END { print a + 0, p + 0 }'
}

# measure K ROUND: bed K idle, then loaded; one line of the table.
measure() {
  local b=$1 round=$2 gw=${PID[gw$1]} t0 t1 c0 c1 p0 p1 i0 i1 u0 u1 perf_pid="" stat_pid
  local pieces rps reqs wrk_ms sys errors label
  read -r -a pieces <<<"${PID[piece$b]}"
  sum_cpu_ticks "$gw"
  i0=$TICKS
  sleep "$IDLE"
  sum_cpu_ticks "$gw"
  i1=$TICKS
  if [[ "$PERF" == 1 && "$round" == 1 ]]; then
    perf record -g -o "$OUT/perf-$b.data" -p "$gw" -- sleep "$DURATION" >"$OUT/perf-$b.log" 2>&1 &
    perf_pid=$!
  fi
  # Until stopped after wrk: the whole of wrk's run (a few idle ms either side add next to
  # nothing), not a DURATION that starts before wrk does and ends before it has.
  perf stat -x, -o "$OUT/syscalls-$b-$round.csv" -e "$SYSCALL_EVENTS" -p "$gw" &
  stat_pid=$!
  u0="$(upstream "$b")"
  sum_cpu_ticks "$gw"
  t0=$TICKS
  sum_cpu_ticks "${pieces[@]}"
  p0=$TICKS
  sum_ctx_switches "$gw"
  c0=$CTX
  FIGURES="$FIGURES_LIST" perf stat -x, -o "$OUT/wrk-cpu-$b-$round.csv" -e task-clock \
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s -s "$root/bench/lua/figures.lua" \
    "http://127.77.$b.1:5235" >"$OUT/wrk-$b-$round.txt" 2>&1
  sum_cpu_ticks "$gw"
  t1=$TICKS
  sum_cpu_ticks "${pieces[@]}"
  p1=$TICKS
  sum_ctx_switches "$gw"
  c1=$CTX
  u1="$(upstream "$b")"
  kill -INT "$stat_pid" 2>/dev/null || true
  [[ -z "$perf_pid" ]] || wait "$perf_pid" || true
  wait "$stat_pid" || true
  rps="$(awk '/^Requests\/sec:/ { print $2 }' "$OUT/wrk-$b-$round.txt")"
  reqs="$(awk '/requests in/ { print $1 }' "$OUT/wrk-$b-$round.txt")"
  wrk_ms="$(awk -F, '$3 ~ /task-clock/ { print $1 }' "$OUT/wrk-cpu-$b-$round.csv")"
  sys="$(awk -F, -v reqs="$reqs" '$3 ~ /sys_enter/ { name = $3; sub(/.*sys_enter_?/, "", name);
      out = out sprintf("%s%s %.2f", out == "" ? "" : ", ", name == "" ? "all" : name, $1 / reqs) }
      END { print out }' "$OUT/syscalls-$b-$round.csv")"
  errors="$(awk '/Non-2xx|Socket errors/ { print }' "$OUT/wrk-$b-$round.txt" | tr '\n' ' ')"
  label="$ISLA_LABEL"
  [[ "${BED_BIN[$b]}" == "$ISLA_BIN" ]] || label="$COMPARE_LABEL"
  awk -v pieces="${BED_PIECES[$b]}" -v label="$label" -v r="$round" -v rps="$rps" -v reqs="$reqs" \
    -v t="$((t1 - t0))" -v i="$((i1 - i0))" -v idle="$IDLE" -v dur="$DURATION" -v p="$((p1 - p0))" \
    -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v err="$errors" -v sys="$sys" \
    -v u0="$u0" -v u1="$u1" -v wrk_ms="$wrk_ms" 'BEGIN {
      upkeep = i / idle * dur
      split(u0, a, " "); split(u1, b, " "); sent = b[1] - a[1] + b[2] - a[2]
      printf "| %s | %d | %d | %.0f | %.1f | %.1f | %.1f | %.1f | %.2f | %.0f%% | %s | %.2f | %s |\n",
        label, pieces, r, rps, t / hz * 1e6 / reqs, (t - upkeep) / hz * 1e6 / reqs,
        p / hz * 1e6 / reqs, wrk_ms * 1e3 / reqs, c / reqs,
        (sent > 0 ? (b[2] - a[2]) * 100 / sent : 0), sys, i / hz / idle, err == "" ? "0" : err }'
}

load0="$(cut -d' ' -f1-3 /proc/loadavg)"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
{
  echo "| isla | piece servers (owners per figure) | round | req/s | gateway µs CPU/req | same, upkeep taken out | piece servers µs CPU/req | wrk µs CPU/req | gateway switches/req | upstream requests pipelined | gateway syscalls/req | gateway idle cores | errors |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for ((round = 1; round <= ROUNDS; round++)); do
    for b in "${beds[@]}"; do measure "$b" "$round"; done
  done
} | tee "$OUT/table.md"
echo "owner_cost: $started, commit $(git rev-parse --short HEAD), load average $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after; ROUNDS=$ROUNDS DURATION=$DURATION IDLE=$IDLE CONNECTIONS=$CONNECTIONS FIGURES=$FIGURES" | tee -a "$OUT/table.md"
if [[ "$PERF" == 1 ]]; then
  for b in "${beds[@]}"; do
    perf report -i "$OUT/perf-$b.data" --no-children --stdio --percent-limit 1 \
      >"$OUT/perf-$b.txt" 2>/dev/null || true
  done
fi
