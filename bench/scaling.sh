#!/usr/bin/env bash
# Issue 14, "Scale, measured and drawn": figure throughput, task throughput and failure-detection
# time as an island grows, on the embedded back end and on etcd + NATS JetStream.
#
# The bed (scripts/testbed/testbed.sh, docs/testbed.md): 3 islands (a, b, c) of 4 + max(SIZES)/3
# hosts each, a network namespace per host (42 hosts for SIZES up to 30). In each island:
#   hosts 1-3  the island's 3 gateways (--threads 1, --partition-catalog with --replicas 2,
#              --island-peers: the 6 gateways of the other islands); embedded: the 3 are the
#              store's voters; etcd-nats: each host also runs an etcd member (2379/2380) and a
#              nats-server -js (4222/6222/8222) of the island's 3-member clusters, and the
#              gateways run with --store etcd://... --queue nats://...
#   host 4     the island's clients: wrk, isla_queue_bench, the workers
#   hosts 5-   piece servers (--partitioned, --threads 1), announcing to the island's gateways
# The catalogue: FIGURES figures (the 16 of data/figures under FIGURES/16 names each), which
# every island partitions over its own piece servers (each island serves every figure itself).
#
# For each back end (BACKENDS) the gateways start once; then, for each size N of SIZES in
# increasing order, the island grows to N piece servers and N workers (--concurrency 4) in all,
# spread over the 3 islands, and once every gateway routes to its island's piece servers:
#   figures  9 wrk -t1 -cCONNECTIONS (one per gateway, each from its island's client host),
#            DURATION s, GET /api/figures/NAME with NAME at random over the catalogue
#            (bench/lua/figures.lua): the sum of their req/s and of their errors. The CPU every
#            group of processes spent (from /proc, bench/lib/proc_cpu.sh) and the machine's busy
#            time (/proc/stat) are read inside the run (from 1 s after its start to 1.5 s before
#            its end; wrk's own over its run): what saturates is measured, in cores. Also: the
#            CPU and context switches of the gateways and of the piece servers per request; the
#            CPU each group spends in IDLE s with no load just before (the island's upkeep); and
#            the member_died, member_suspected and route_removed events the gateways recorded
#            during the load, when nothing was killed (the island flapping when starved).
#   tasks    TASKS tiny tasks ("sum"), a third per island, through each island's gateways by
#            build/bench/isla_queue_bench (2 producers x window 16), the islands at once: tasks
#            over the slowest island's seconds.
#   failure  kill -9 of island a's last piece server: the time until every gateway of island a
#            recorded its route_removed (heartbeat timeout 700 ms); then kill -9 of gateway a3:
#            the time until a1 and a2 recorded its member_died (bench/lib/swim_watch.py, as in
#            bench/failure_detection.sh). Both are restarted before the next size.
# Output: the CSV (a line per back end and size) in a temp dir, kept as OUT_DIR/scaling.csv;
# the curves OUT_DIR/scaling-{figures,tasks,detection,cpu-BACKEND}.png (gnuplot, pngcairo; svg
# where that terminal is missing), which the dashboard serves and links (web/CMakeLists.txt); the report (a markdown table, the command, time and load) on stdout and
# in OUT_DIR/report.md. It reports; it never asserts a goal.
#
# Knobs (environment): SIZES ("3 6 12 21 30" piece servers in all), BACKENDS ("embedded
# etcd-nats"), DURATION (s of wrk per point, 5), CONNECTIONS (per gateway, 8), TASKS (1500),
# TASK_TIMEOUT (s, 120: tasks not seen done by then count as errors), IDLE (s, 2: before the
# figure load, the CPU the island spends with no load at all is read over this long),
# FIGURES (48, at most 64: one piece server alone holds them all), OUT_DIR (docs/scaling),
# SMOKE=1 (SIZES="3 6" DURATION=1 TASKS=300, OUT_DIR in the temp dir), STEP_TIMEOUT (s, 60: every
# wait), ISLA_BIN (build/isla), BENCH_DIR (build/bench), KEEP_TMP (1 keeps the logs),
# REPLOT=CSV (no run: the curves and the table drawn again from an earlier run's scaling.csv).
# Needs root and network namespaces (it says so and exits 1 otherwise).
set -Eeuo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

note() { echo "scaling: $*" >&2; }
die() {
  note "$*"
  exit 1
}

if [[ "${SMOKE:-0}" == 1 ]]; then
  SIZES="${SIZES:-3 6}" DURATION="${DURATION:-1}" TASKS="${TASKS:-300}"
fi
SIZES="${SIZES:-3 6 12 21 30}"
BACKENDS="${BACKENDS:-embedded etcd-nats}"
DURATION="${DURATION:-5}"
CONNECTIONS="${CONNECTIONS:-8}"
TASKS="${TASKS:-1500}"
TASK_TIMEOUT="${TASK_TIMEOUT:-120}"
IDLE="${IDLE:-2}"
FIGURES="${FIGURES:-48}"
STEP_TIMEOUT="${STEP_TIMEOUT:-60}"
ISLA_BIN="$(realpath -m "${ISLA_BIN:-build/isla}")"
BENCH_DIR="$(realpath -m "${BENCH_DIR:-build/bench}")"
KEEP_TMP="${KEEP_TMP:-0}"
export QUIET_TIMEOUT="${QUIET_TIMEOUT:-120}"
ISLANDS=(a b c)
GATEWAYS_PER_ISLAND=3
CLIENT_HOST=4   # hosts 1-3: gateways, 4: clients, 5-: piece servers
WORKER_CONCURRENCY=4
GW_PORT=5235
PIECE_PORT=1233

source "$root/bench/lib/bed.sh"
source "$root/bench/lib/proxy_bench.sh"
source "$root/bench/lib/proc_cpu.sh"
source "$root/bench/lib/quiet.sh"
source "$root/bench/lib/log_tails.sh"
source "$root/bench/lib/figure_catalog.sh"
WATCH="$root/bench/lib/swim_watch.py"

# draw_and_report: the curves and the report from $tmp/scaling.csv (after a run, or REPLOT).
draw_and_report() {
  # ---------------------------------------------------------------- the curves
  mkdir -p "$OUT_DIR"
  cp "$tmp/scaling.csv" "$OUT_DIR/scaling.csv"
  if gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo; then
    term="pngcairo size 800,500 font 'sans,10'" ext=png
  else
    term="svg size 800,500" ext=svg
  fi
  rm -f "$OUT_DIR"/scaling-*.png "$OUT_DIR"/scaling-*.svg
  csv="$tmp/scaling.csv"
  # draw NAME TITLE YLABEL PLOT: OUT_DIR/scaling-NAME.ext (the dashboard links these names); s(c) is column c on this line's back end B
  # (set by the caller) and NaN elsewhere. A curve gnuplot cannot draw is said, not fatal.
  draw() {
    gnuplot -e "set terminal $term; set output '$OUT_DIR/scaling-$1.$ext'; set datafile separator ',';
      set title \"$2\"; set ylabel '$3'; set grid; set yrange [0:*]; set key below;
      set xlabel 'piece servers (and as many workers) in 3 islands of 3 gateways';
      f = '$csv'; s(c) = (strcol(1) eq B ? column(c) : NaN); $4" 2>"$tmp/gnuplot.log" ||
      note "gnuplot could not draw $1: $(tail -n 2 "$tmp/gnuplot.log")"
  }
  # by_backend COLUMN [LABEL]: a curve of COLUMN per back end.
  by_backend() {
    local b out=()
    for b in $BACKENDS; do out+=("f using 2:(B = '$b', s($1)) with linespoints lw 2 title '${2:+$2, }$b'"); done
    (IFS=,; echo "plot ${out[*]}")
  }
  draw figures "Figure throughput (9 gateways, $((CONNECTIONS * 9)) connections, ${DURATION} s per point)" \
    "requests/s" "$(by_backend 4)"
  draw cost "CPU per figure request (the island's upkeep included)" \
    "µs of CPU per request" "$(by_backend 23 'gateways'), $(by_backend 24 'piece servers' | sed 's/^plot //')"
  draw switches "Context switches per figure request" "switches per request" \
    "$(by_backend 25 'gateways'), $(by_backend 26 'piece servers' | sed 's/^plot //')"
  draw tasks "Task throughput (${TASKS} tiny tasks per point)" "tasks/s" "$(by_backend 6)"
  draw detection "Failure detection after kill -9 (by every gateway of the island)" ms \
    "$(by_backend 9 'piece server'), $(by_backend 10 gateway | sed 's/^plot //')"
  for b in $BACKENDS; do
    draw "cpu-$b" "Where the CPU goes under the figure load ($b; the machine has $(nproc) cores)" cores \
      "B = '$b'; plot f using 2:(s(11)) with linespoints lw 2 title 'whole machine',
       f using 2:(s(12)) with linespoints lw 2 title '9 gateways',
       f using 2:(s(13)) with linespoints lw 2 title 'busiest gateway (--threads 1)',
       f using 2:(s(14)) with linespoints lw 2 title 'piece servers',
       f using 2:(s(15)) with linespoints lw 2 title 'wrk x9',
       f using 2:(s(17)) with linespoints lw 2 title 'etcd + nats',
       f using 2:(s(18)) with linespoints lw 2 title 'others (not this bench)',
       f using 2:(s(28)) with linespoints lw 1 dt 2 title 'gateways, no load',
       f using 2:(s(29)) with linespoints lw 1 dt 2 title 'piece servers, no load',
       f using 2:(s(30)) with linespoints lw 1 dt 2 title 'workers, no load',
       f using 2:(s(31)) with linespoints lw 1 dt 2 title 'etcd + nats, no load'"
  done

  # ---------------------------------------------------------------- report
  cpu_model="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  {
    if [[ -n "$REPLOT" ]]; then
      echo "scaling — drawn again $(date -u '+%Y-%m-%d %H:%M UTC') from ${REPLOT} (its run's command, time and load: where it was reported)"
    else
      echo "scaling — $(date -u '+%Y-%m-%d %H:%M UTC'), $((SECONDS - started)) s"
      echo
      echo "- command: \`SIZES=\"$SIZES\" BACKENDS=\"$BACKENDS\" DURATION=$DURATION CONNECTIONS=$CONNECTIONS TASKS=$TASKS FIGURES=$FIGURES bench/scaling.sh\`"
      echo "- machine: nproc=$(nproc), ${cpu_model:-unknown CPU}, kernel $(uname -r); load average ${load_before} before, ${load_after} after (1/5/15 min)"
    fi
    echo "- isla: commit ${commit}; bed of 3 islands x ${hosts_per_island} hosts; 9 gateways (--threads 1), piece servers --threads 1, workers --concurrency ${WORKER_CONCURRENCY}"
    echo
    echo "| back end | piece servers = workers | figures/s | fig. errors | tasks/s | task errors | piece server dead after (ms) | gateway dead after (ms) | machine cores busy | gateways | busiest gateway | piece servers | wrk | etcd+nats | others | gateway µs/req | piece µs/req | gateway switches/req | piece switches/req | no load: gateways | pieces | workers | etcd+nats | false deaths | suspicions | pieces dropped |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    tail -n +2 "$tmp/scaling.csv" | awk -F, '{ printf "| %s | %s | %.0f | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
      $1, $2, $4, $5, $6, $8, $9, $10, $11, $12, $13, $14, $15, $17, $18, $23, $24, $25, $26, $28, $29, $30, $31, $32, $33, $34 }'
    echo
    echo "CPU columns: cores used during the figure load, from 1 s after its start to 1.5 s before its"
    echo "end (/proc/PID/stat per group, /proc/stat for the machine); wrk: its own CPU over its whole run"
    echo "(bash's times); others = the machine minus this bench's processes (other users of the machine)."
    echo "Per request: the group's CPU (µs, its upkeep included) and context switches (all threads)"
    echo "per second in the window, over the figure requests per second of the run. No load: cores each group used in ${IDLE} s with"
    echo "no request at all, just before the figure load (heartbeats, probes, the workers' long polls)."
    echo "False deaths, suspicions, pieces dropped: member_died, member_suspected and route_removed"
    echo "events the 9 gateways recorded during the figure load, when nothing was killed."
    echo "Curves:$(for f in "$OUT_DIR"/scaling-*."$ext"; do printf ' %s' "${f##*/}"; done)"
  } | tee "$OUT_DIR/report.md"
}

# REPLOT=FILE: no run; the curves and the table drawn again from an earlier run's CSV (to
# restyle them, or to draw a run that ended early from the CSV it kept).
REPLOT="${REPLOT:-}"
if [[ -n "$REPLOT" ]]; then
  [[ -s "$REPLOT" && "$(head -n 1 "$REPLOT")" == backend,size,* ]] ||
    die "REPLOT: '$REPLOT' is not the scaling.csv of an earlier run"
  command -v gnuplot >/dev/null 2>&1 || die "'gnuplot' not found; run 'make deps' (scripts/deps.sh) first"
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/isla-scaling.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  cp "$REPLOT" "$tmp/scaling.csv"
  BACKENDS="$(tail -n +2 "$REPLOT" | cut -d, -f1 | awk '!seen[$0]++' | tr '\n' ' ')"
  SIZES="$(tail -n +2 "$REPLOT" | cut -d, -f2 | sort -nu | tr '\n' ' ')"
  max_size="$(tail -n +2 "$REPLOT" | cut -d, -f2 | sort -n | tail -n 1)"
  hosts_per_island=$((CLIENT_HOST + (max_size + ${#ISLANDS[@]} - 1) / ${#ISLANDS[@]}))
  OUT_DIR="$(realpath -m "${OUT_DIR:-docs/scaling}")"
  draw_and_report
  exit 0
fi

# ---------------------------------------------------------------- preconditions
((EUID == 0)) || die "needs root: the test bed is made of network namespaces (run as root)"
why="$("$TESTBED_SH" check 2>&1)" || die "no test bed can be made here: ${why}"
for knob in DURATION CONNECTIONS TASKS TASK_TIMEOUT IDLE FIGURES STEP_TIMEOUT; do
  [[ "${!knob}" =~ ^[0-9]+$ && "${!knob}" -gt 0 ]] || die "$knob must be a positive integer"
done
((FIGURES <= 64)) || die "FIGURES must be at most 64 (a piece server holds at most 64 figures)"
max_size=0
for n in $SIZES; do
  [[ "$n" =~ ^[0-9]+$ && "$n" -ge ${#ISLANDS[@]} ]] || die "SIZES: '$n' is not a whole number >= 3"
  ((n > max_size)) && max_size=$n
done
SIZES="$(tr ' ' '\n' <<<"$SIZES" | sed '/^$/d' | sort -n | uniq | tr '\n' ' ')"
for b in $BACKENDS; do
  [[ "$b" == embedded || "$b" == etcd-nats ]] || die "BACKENDS: '$b' (embedded or etcd-nats)"
done
tools=(wrk curl python3 gnuplot)
[[ " $BACKENDS " == *" etcd-nats "* ]] && tools+=(etcd nats-server)
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run 'make deps' (scripts/deps.sh) first"
done
[[ -x "$ISLA_BIN" ]] || die "isla binary '$ISLA_BIN' not found; run 'make build' (or set ISLA_BIN)"
[[ -x "$BENCH_DIR/isla_queue_bench" ]] ||
  die "$BENCH_DIR/isla_queue_bench not built: cmake --build build --target isla_queue_bench"
PYTHON="$(python3 -c 'import sys; print(sys.executable)')"  # not a pyenv shim: it polls

# ---------------------------------------------------------------- cleanup
tmp="$(mktemp -d "${TMPDIR:-/tmp}/isla-scaling.XXXXXX")"
chmod 755 "$tmp"
OUT_DIR="$(realpath -m "${OUT_DIR:-$([[ "${SMOKE:-0}" == 1 ]] && echo "$tmp/out" || echo docs/scaling)}")"
bed=""
declare -A PID=()   # "gw a1", "piece b7", "worker c 3", "etcd a2", "nats a3", "wrk a1" -> pid

cleanup() {
  local rc=$? pids=() key
  set +e
  for key in "${!PID[@]}"; do pids+=("${PID[$key]}"); done
  ((${#pids[@]})) && stop_pids "${pids[@]}"
  [[ -n "$bed" ]] && "$TESTBED_SH" down --name "$bed" >/dev/null
  ((rc != 0)) && print_log_tails "$tmp" 4 "$tmp"/*/*.log
  if [[ "$KEEP_TMP" == 1 ]]; then note "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'note "failed at line $LINENO: $BASH_COMMAND"' ERR
set +E  # the trap names where the script itself fails, not each function's failed test
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the bed
per_island_max=$(((max_size + ${#ISLANDS[@]} - 1) / ${#ISLANDS[@]}))
hosts_per_island=$((CLIENT_HOST + per_island_max))
bed="sc$$"
note "making a bed of ${#ISLANDS[@]} islands x ${hosts_per_island} hosts"
"$TESTBED_SH" up --name "$bed" --islands ${#ISLANDS[@]} --hosts-per-island "$hosts_per_island" \
  --owner-pid $$ >"$tmp/bed.env" || die "testbed.sh up failed"
declare -A IP=()
for L in "${ISLANDS[@]}"; do
  for ((h = 1; h <= hosts_per_island; h++)); do IP[$L$h]="$(bed_ip "$tmp/bed.env" "$L$h")"; done
done

# island_gateways L [EXCEPT_HOST]: HOST:PORT of island L's gateways, comma-separated.
island_gateways() {
  local out=() h
  for ((h = 1; h <= GATEWAYS_PER_ISLAND; h++)); do
    [[ "$1$h" == "${2:-}" ]] || out+=("${IP[$1$h]}:$GW_PORT")
  done
  (IFS=,; echo "${out[*]}")
}
all_gateways() {
  local out=() M
  for M in "${ISLANDS[@]}"; do out+=("$(island_gateways "$M")"); done
  (IFS=,; echo "${out[*]}")
}
other_islands_gateways() {
  local out=() M
  for M in "${ISLANDS[@]}"; do [[ "$M" == "$1" ]] || out+=("$(island_gateways "$M")"); done
  (IFS=,; echo "${out[*]}")
}
# island_pieces L COUNT: HOST:PORT of island L's first COUNT piece servers.
island_pieces() {
  local out=() k
  for ((k = 1; k <= $2; k++)); do out+=("${IP[$1$((CLIENT_HOST + k))]}:$PIECE_PORT"); done
  (IFS=,; echo "${out[*]}")
}
# in_island_client L CMD...: CMD from island L's client host (the root namespace has no route).
in_island_client() {
  bed_cmd "$bed" "$1$CLIENT_HOST"
  shift
  "${BED_CMD[@]}" "$@"
}
watch_from() {
  local L=$1
  shift
  in_island_client "$L" "$PYTHON" "$WATCH" "$@"
}

ALL_GATEWAYS="$(all_gateways)"

# ---------------------------------------------------------------- catalogue and credentials
catalog="$tmp/catalog"
make_figure_catalog "$catalog" "$FIGURES"
export FIGURES_LIST
secret="$tmp/island.secret"
"$ISLA_BIN" secret init --out "$secret" >"$tmp/secret.log" 2>&1 || die "isla secret init failed"
"$ISLA_BIN" token create --secret-file "$secret" --role write --ttl 2h --subject scaling \
  --out "$tmp/write.token" >>"$tmp/secret.log" 2>&1 || die "isla token create failed"

# ---------------------------------------------------------------- processes
# spawn KEY HOST LOG CMD...: CMD in HOST, in the background; its pid (the command's own) in PID.
spawn() {
  local key=$1 host=$2 log=$3
  shift 3
  bed_cmd "$bed" "$host"
  "${BED_CMD[@]}" "$@" >>"$log" 2>&1 &
  PID[$key]=$!
}
# stop_group PREFIX: stops every process whose key starts with PREFIX.
stop_group() {
  local key pids=()
  for key in "${!PID[@]}"; do
    [[ "$key" == "$1"* ]] && pids+=("${PID[$key]}") && unset "PID[$key]"
  done
  # A process that needed SIGKILL makes stop_pids' wait fail: not this script's failure.
  ((${#pids[@]})) && { stop_pids "${pids[@]}" || true; }
  return 0
}
group_pids() {
  local key
  for key in "${!PID[@]}"; do [[ "$key" == "$1"* ]] && echo "${PID[$key]}"; done
  return 0
}

# until_ok WHAT CMD...: polls CMD (quietly) until it succeeds, for at most STEP_TIMEOUT s.
until_ok() {
  local what=$1 deadline=$((SECONDS + STEP_TIMEOUT))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what: not within ${STEP_TIMEOUT}s"
    sleep 0.1
  done
}

start_etcd_nats() {
  local L=$1 h initial="" routes dir
  for ((h = 1; h <= GATEWAYS_PER_ISLAND; h++)); do
    initial+="${initial:+,}e-$L$h=http://${IP[$L$h]}:2380"
  done
  for ((h = 1; h <= GATEWAYS_PER_ISLAND; h++)); do
    dir="$tmp/$backend"
    spawn "etcd $L$h" "$L$h" "$dir/etcd-$L$h.log" etcd --name "e-$L$h" --data-dir "$dir/etcd-$L$h" \
      --listen-client-urls "http://${IP[$L$h]}:2379" --advertise-client-urls "http://${IP[$L$h]}:2379" \
      --listen-peer-urls "http://${IP[$L$h]}:2380" --initial-advertise-peer-urls "http://${IP[$L$h]}:2380" \
      --initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token "scaling-$L" \
      --logger zap --log-outputs stderr
    routes=""
    for ((k = 1; k <= GATEWAYS_PER_ISLAND; k++)); do
      ((k == h)) || routes+="${routes:+,}nats://${IP[$L$k]}:6222"
    done
    spawn "nats $L$h" "$L$h" "$dir/nats-$L$h.log" nats-server -js -a "${IP[$L$h]}" -p 4222 -m 8222 \
      -n "n-$L$h" -sd "$dir/nats-$L$h" --cluster_name "scaling-$L" --cluster "nats://${IP[$L$h]}:6222" \
      --routes "$routes"
  done
  for ((h = 1; h <= GATEWAYS_PER_ISLAND; h++)); do
    until_ok "etcd member ${IP[$L$h]}" in_island_client "$L" curl -sf --max-time 1 "http://${IP[$L$h]}:2379/health"
    until_ok "nats-server ${IP[$L$h]}" in_island_client "$L" curl -sf --max-time 1 "http://${IP[$L$h]}:8222/healthz"
  done
}

# backend_flags L: the gateways' store and queue flags on the current back end.
backend_flags() {
  local L=$1 h etcd=() nats=()
  if [[ "$backend" == embedded ]]; then
    echo "--store-voters $(island_gateways "$L")"
    return
  fi
  for ((h = 1; h <= GATEWAYS_PER_ISLAND; h++)); do
    etcd+=("${IP[$L$h]}:2379")
    nats+=("nats://${IP[$L$h]}:4222")
  done
  echo "--store etcd://$(IFS=,; echo "${etcd[*]}") --queue $(IFS=,; echo "${nats[*]}")"
}

start_gateway() {
  local L=$1 h=$2 dir="$tmp/$backend"
  mkdir -p "$dir/gw-$L$h"
  # shellcheck disable=SC2046 # backend_flags prints flags
  spawn "gw $L$h" "$L$h" "$dir/gw-$L$h.log" "$ISLA_BIN" gateway --listen "${IP[$L$h]}:$GW_PORT" \
    --island "island-$L" --threads 1 --secret-file "$secret" --data-dir "$dir/gw-$L$h" \
    --partition-catalog "$catalog" --replicas 2 --seeds "$(island_gateways "$L")" \
    --island-peers "$(other_islands_gateways "$L")" $(backend_flags "$L")
}

# store_writable L: a write through island L's first gateway is acknowledged (the store works).
store_writable() {
  local code
  code="$(in_island_client "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X PUT \
    -H "Authorization: Bearer $(cat "$tmp/write.token")" -H 'Content-Type: application/json' \
    -d '{"value":"ready"}' "http://${IP[${1}1]}:$GW_PORT/api/kv/scaling-ready")"
  [[ "$code" == 2* ]]
}

start_piece() {
  local L=$1 k=$2 host="$1$((CLIENT_HOST + $2))" dir="$tmp/$backend"
  mkdir -p "$dir/piece-$host"
  spawn "piece $host" "$host" "$dir/piece-$host.log" "$ISLA_BIN" pieces \
    --listen "${IP[$host]}:$PIECE_PORT" --threads 1 --secret-file "$secret" \
    --data-dir "$dir/piece-$host" --gateway "$(island_gateways "$L")" --catalog "$catalog" --partitioned
}

start_worker() {
  local L=$1 k=$2
  spawn "worker $L $k" "$L$CLIENT_HOST" "$tmp/$backend/worker-$L$k.log" "$ISLA_BIN" worker \
    --gateway "$(island_gateways "$L")" --secret-file "$secret" --concurrency "$WORKER_CONCURRENCY" \
    --id "w-$L$k"
}

pieces_ready() {
  watch_from "$1" pieces-ready --nodes "$(island_gateways "$1")" --pieces "$(island_pieces "$1" "$2")" \
    --figures "$FIGURES" --timeout "$STEP_TIMEOUT" >/dev/null ||
    die "island $1: the gateways do not route to its $2 piece servers and every figure within ${STEP_TIMEOUT}s"
}
converged() {
  watch_from "$1" converged --nodes "$(island_gateways "$1")" --timeout "$STEP_TIMEOUT" ||
    die "island $1: the gateways did not see each other alive within ${STEP_TIMEOUT}s"
}
# island_ready L: its gateways see each other, know the store's leader, and a write succeeds.
island_ready() {
  converged "$1"
  watch_from "$1" led --nodes "$(island_gateways "$1")" --timeout "$STEP_TIMEOUT" ||
    die "island $1: not every gateway knows its store's leader within ${STEP_TIMEOUT}s"
  until_ok "island $1's store" store_writable "$1"
}

# ---------------------------------------------------------------- CPU
HZ="$(getconf CLK_TCK)"
GROUPS_MEASURED=(gw piece worker backend)
# cpu_snapshot NAME: the CPU ticks of each group of our long-lived processes, and the machine's
# busy ticks (all CPUs, /proc/stat: everything but idle and iowait), into SNAP[NAME/...]. Nothing
# is forked (sum_cpu_ticks, read): it takes milliseconds even on a loaded machine.
declare -A SNAP=()
cpu_snapshot() {
  local g key pids
  for g in "${GROUPS_MEASURED[@]}"; do
    pids=()
    for key in "${!PID[@]}"; do
      case "$g/${key%% *}" in
        gw/gw | piece/piece | worker/worker | backend/etcd | backend/nats) pids+=("${PID[$key]}") ;;
      esac
    done
    sum_cpu_ticks "${pids[@]}"
    SNAP[$1/$g]=$TICKS
  done
  for key in "${!PID[@]}"; do
    [[ "$key" == "gw "* ]] || continue
    sum_cpu_ticks "${PID[$key]}"
    SNAP[$1/gw${PID[$key]}]=$TICKS
  done
  # shellcheck disable=SC2034
  read -r _ user nice system idle iowait irq softirq steal _ </proc/stat
  SNAP[$1/machine]=$((user + nice + system + irq + softirq + steal))
  SNAP[$1/ms]=$((${EPOCHREALTIME/./} / 1000))
}
# ctx_snapshot NAME: the context switches of the gateways and of the piece servers, into
# SNAP[NAME/ctx_gw], SNAP[NAME/ctx_piece] and their time SNAP[NAME/ctx_ms] (a separate window:
# reading every thread's status takes longer than the CPU snapshot on a loaded machine).
ctx_snapshot() {
  local g key pids
  for g in gw piece; do
    pids=()
    for key in "${!PID[@]}"; do [[ "$key" == "$g "* ]] && pids+=("${PID[$key]}"); done
    sum_ctx_switches "${pids[@]}"
    SNAP[$1/ctx_$g]=$CTX
  done
  SNAP[$1/ctx_ms]="$(now_ms)"
}
# per_request FROM TO GROUP RPS: µs of CPU, and context switches, GROUP spent per figure request
# between two snapshots ("US SWITCHES"): all of it, the island's upkeep included (what it
# spends with no load is a column of its own; taking it off is meaningless once the machine is
# saturated: a starved process gets less CPU under load than it wanted idle).
per_request() {
  awk -v t=$((${SNAP[$2/$3]} - ${SNAP[$1/$3]})) -v ms=$((${SNAP[$2/ms]} - ${SNAP[$1/ms]})) \
    -v c=$((${SNAP[$2/ctx_$3]} - ${SNAP[$1/ctx_$3]})) -v cms=$((${SNAP[$2/ctx_ms]} - ${SNAP[$1/ctx_ms]})) \
    -v hz="$HZ" -v rps="$4" 'BEGIN {
      if (rps <= 0 || ms <= 0 || cms <= 0) { print "nan nan"; exit }
      printf "%.1f %.2f", t / hz / (ms / 1000) * 1e6 / rps, c / (cms / 1000) / rps }'
}
# cores FROM TO GROUP: cores GROUP used on average between two snapshots.
cores() {
  awk -v t=$((${SNAP[$2/$3]} - ${SNAP[$1/$3]})) -v ms=$((${SNAP[$2/ms]} - ${SNAP[$1/ms]})) -v hz="$HZ" \
    'BEGIN { printf "%.2f", (ms > 0 ? t / hz / (ms / 1000) : 0) }'
}
# busiest_gateway FROM TO: the cores of the gateway that used the most.
busiest_gateway() {
  local pid best=0 c
  for pid in $(group_pids "gw "); do
    [[ -n "${SNAP[$1/gw$pid]:-}" && -n "${SNAP[$2/gw$pid]:-}" ]] || continue
    c="$(cores "$1" "$2" "gw$pid")"
    best="$(awk -v a="$best" -v b="$c" 'BEGIN { print (b > a ? b : a) }')"
  done
  echo "$best"
}

# ---------------------------------------------------------------- the measurements
# The measure_* functions run in this shell (not in $(...)): they start and stop processes whose
# pids the cleanup must know, and take CPU snapshots; they set their results in globals.
# measure_figures: 9 wrk at once, one per gateway; sets FIG_RPS, FIG_ERR, FALSE_DEATHS,
# SUSPICIONS and ROUTES_DROPPED (the island flapping under the load), the snapshots fig0
# and fig1 inside the run, and wrk0 and wrk1 around it (wrk's own CPU: bash's `times` of its
# reaped children, as wrk is gone before its /proc could be read at the end).
measure_figures() {
  local L h out keys=() f key started lead length
  FIG_RPS=0 FIG_ERR=0
  local mark
  # A starved gateway may not return its event log in time: then these counts are n/a.
  mark="$(watch_from a mark --nodes "$ALL_GATEWAYS" 2>/dev/null)" || mark=""
  children_cpu_ticks "$tmp/times"
  SNAP[wrk0/wrk]=$CHILD_TICKS SNAP[wrk0/ms]="$(now_ms)"
  for L in "${ISLANDS[@]}"; do
    for ((h = 1; h <= GATEWAYS_PER_ISLAND; h++)); do
      out="$tmp/$backend/wrk-$size-$L$h.out"
      bed_cmd "$bed" "$L$CLIENT_HOST"
      FIGURES="$FIGURES_LIST" "${BED_CMD[@]}" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s \
        -s "$root/bench/lua/figures.lua" "http://${IP[$L$h]}:$GW_PORT" >"$out" 2>&1 &
      PID["wrk $L$h"]=$!
      keys+=("wrk $L$h")
    done
  done
  # The window: from 1 s after the last wrk was started to 1.5 s before the first can end
  # (runs of 3 s or less: their middle third).
  started="$(now_ms)"
  lead=1000 length=$((DURATION * 1000 - 2500))
  ((DURATION > 3)) || lead=$((DURATION * 333)) length=$((DURATION * 333))
  sleep_until $((started + lead))
  cpu_snapshot fig0
  ctx_snapshot fig0
  sleep_until $((started + lead + length))
  cpu_snapshot fig1
  ctx_snapshot fig1
  for key in "${keys[@]}"; do
    wait "${PID[$key]}" || true
    unset "PID[$key]"
  done
  children_cpu_ticks "$tmp/times"
  SNAP[wrk1/wrk]=$CHILD_TICKS SNAP[wrk1/ms]="$(now_ms)"
  # Nothing is killed during the load: every death and every piece server dropped is false.
  FALSE_DEATHS=n/a SUSPICIONS=n/a ROUTES_DROPPED=n/a
  [[ -n "$mark" ]] && read -r FALSE_DEATHS SUSPICIONS ROUTES_DROPPED < <(watch_from a count \
    --nodes "$ALL_GATEWAYS" --mark "$mark" --routes 2>/dev/null || echo n/a n/a n/a)
  for f in "$tmp/$backend/wrk-$size-"*.out; do
    grep -q '^Requests/sec:' "$f" || { cat "$f" >&2; die "wrk gave no result ($f)"; }
    FIG_RPS="$(awk -v s="$FIG_RPS" '/^Requests\/sec:/ { printf "%.1f", s + $2 }' "$f")"
    FIG_ERR=$((FIG_ERR + $(awk '/Non-2xx or 3xx responses:/ { n += $NF }
      /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$f")))
  done
}

# measure_tasks: TASKS/3 tasks per island, the islands at once; sets TASK_RPS, TASK_DONE,
# TASK_ERR, and the snapshots task0 and task1 around the run.
measure_tasks() {
  local L per=$((TASKS / ${#ISLANDS[@]})) keys=()
  cpu_snapshot task0
  for L in "${ISLANDS[@]}"; do
    bed_cmd "$bed" "$L$CLIENT_HOST"
    "${BED_CMD[@]}" "$BENCH_DIR/isla_queue_bench" --gateways "$(island_gateways "$L")" \
      --token-file "$tmp/write.token" --timeout-s "$TASK_TIMEOUT" load --tasks "$per" --producers 2 \
      --window 16 >"$tmp/$backend/tasks-$size-$L.json" 2>"$tmp/$backend/tasks-$size-$L.log" &
    PID["bench $L"]=$!
    keys+=("bench $L")
  done
  for key in "${keys[@]}"; do
    wait "${PID[$key]}" || note "isla_queue_bench ($key) exited $? ($(tail -n 1 "$tmp/$backend/tasks-$size-${key#bench }.log"))"
    unset "PID[$key]"
  done
  cpu_snapshot task1
  read -r TASK_RPS TASK_DONE TASK_ERR < <("$PYTHON" - "$tmp/$backend/tasks-$size-"*.json <<'PY'
import json, sys
done = errors = 0
slowest = 0.0
for path in sys.argv[1:]:
    try:
        d = json.loads(open(path).readline())
    except (OSError, ValueError):
        errors += 1
        continue
    done += d.get("tasks") or 0
    errors += d.get("errors") or 0
    slowest = max(slowest, d.get("seconds") or 0.0)
print(f"{done / slowest:.1f}" if slowest > 0 else "nan", done, errors)
PY
  )
}

# measure_detection PIECES_IN_A: sets PIECE_MS and GW_MS ("missed": not within STEP_TIMEOUT).
measure_detection() {
  local L=a pieces_now=$1 victim_host killed
  victim_host="$L$((CLIENT_HOST + pieces_now))"
  killed="$(now_ms)"
  kill -KILL "${PID[piece $victim_host]}"
  wait "${PID[piece $victim_host]}" 2>/dev/null || true
  unset "PID[piece $victim_host]"
  PIECE_MS="$(watch_from "$L" piece-gone --nodes "$(island_gateways "$L")" \
    --victim "${IP[$victim_host]}:$PIECE_PORT" --killed-ms "$killed" --timeout "$STEP_TIMEOUT")"
  start_piece "$L" "$pieces_now"
  pieces_ready "$L" "$pieces_now"

  local gw_victim="${L}3"
  killed="$(now_ms)"
  kill -KILL "${PID[gw $gw_victim]}"
  wait "${PID[gw $gw_victim]}" 2>/dev/null || true
  unset "PID[gw $gw_victim]"
  GW_MS="$(watch_from "$L" detect --nodes "$(island_gateways "$L" "$gw_victim")" \
    --victim "${IP[$gw_victim]}:$GW_PORT" --killed-ms "$killed" --timeout "$STEP_TIMEOUT")"
  start_gateway "$L" 3
  island_ready "$L"
  pieces_ready "$L" "$pieces_now"
}

# sleep_until MS: sleeps until the wall clock reads MS (ms since the epoch), if it does not yet.
sleep_until() {
  local left=$(($1 - $(now_ms)))
  ((left > 0)) && sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
  return 0
}

# pieces_of N ISLAND_INDEX: how many of N piece servers island I holds (spread evenly).
pieces_of() { echo $(($1 / ${#ISLANDS[@]} + ($2 < $1 % ${#ISLANDS[@]} ? 1 : 0))); }

CSV_HEADER="backend,size,workers,figure_rps,figure_errors,task_rps,tasks_done,task_errors,piece_detect_ms,gateway_detect_ms,cpu_machine,cpu_gateways,cpu_busiest_gateway,cpu_pieces,cpu_wrk,cpu_workers,cpu_backend,cpu_other,task_cpu_machine,task_cpu_gateways,task_cpu_backend,task_cpu_workers,gateway_us_per_request,piece_us_per_request,gateway_switches_per_request,piece_switches_per_request,idle_cpu_machine,idle_cpu_gateways,idle_cpu_pieces,idle_cpu_workers,idle_cpu_backend,false_deaths,suspicions,pieces_dropped"
echo "$CSV_HEADER" >"$tmp/scaling.csv"

run_backend() {
  local L i h n k
  declare -A running=()   # island -> piece servers (and workers) running
  mkdir -p "$tmp/$backend"
  wait_for_quiet
  note "$backend: starting 9 gateways"
  if [[ "$backend" == etcd-nats ]]; then
    for L in "${ISLANDS[@]}"; do start_etcd_nats "$L"; done
  fi
  for L in "${ISLANDS[@]}"; do
    for ((h = 1; h <= GATEWAYS_PER_ISLAND; h++)); do start_gateway "$L" "$h"; done
    running[$L]=0
  done
  for L in "${ISLANDS[@]}"; do island_ready "$L"; done
  for size in $SIZES; do
    note "$backend, $size piece servers and $size workers"
    for i in "${!ISLANDS[@]}"; do
      L=${ISLANDS[i]}
      n="$(pieces_of "$size" "$i")"
      for ((k = running[$L] + 1; k <= n; k++)); do
        start_piece "$L" "$k"
        start_worker "$L" "$k"
      done
      running[$L]=$n
    done
    for L in "${ISLANDS[@]}"; do pieces_ready "$L" "${running[$L]}"; done
    # What the island costs with no load at all: heartbeats, probes, workers' long polls.
    cpu_snapshot idle0
    sleep "$IDLE"
    cpu_snapshot idle1
    measure_figures
    note "  figures: ${FIG_RPS}/s, ${FIG_ERR} errors; meanwhile ${FALSE_DEATHS} false deaths, ${SUSPICIONS} suspicions, ${ROUTES_DROPPED} piece servers dropped"
    measure_tasks
    note "  tasks: ${TASK_RPS}/s (${TASK_DONE} done, ${TASK_ERR} errors)"
    measure_detection "${running[a]}"
    note "  detection: piece server ${PIECE_MS} ms, gateway ${GW_MS} ms"
    local machine ours=0 g c other gw_us gw_ctx piece_us piece_ctx
    machine="$(cores fig0 fig1 machine)"
    local cpu=()
    for g in gw piece wrk worker backend; do
      if [[ "$g" == wrk ]]; then c="$(cores wrk0 wrk1 wrk)"; else c="$(cores fig0 fig1 "$g")"; fi
      cpu+=("$c")
      ours="$(awk -v a="$ours" -v b="$c" 'BEGIN { printf "%.2f", a + b }')"
    done
    read -r gw_us gw_ctx <<<"$(per_request fig0 fig1 gw "$FIG_RPS")"
    read -r piece_us piece_ctx <<<"$(per_request fig0 fig1 piece "$FIG_RPS")"
    other="$(awk -v m="$machine" -v o="$ours" 'BEGIN { v = m - o; printf "%.2f", (v < 0 ? 0 : v) }')"
    echo "$backend,$size,$size,$FIG_RPS,$FIG_ERR,$TASK_RPS,$TASK_DONE,$TASK_ERR,$PIECE_MS,$GW_MS,$machine,${cpu[0]},$(busiest_gateway fig0 fig1),${cpu[1]},${cpu[2]},${cpu[3]},${cpu[4]},$other,$(cores task0 task1 machine),$(cores task0 task1 gw),$(cores task0 task1 backend),$(cores task0 task1 worker),$gw_us,$piece_us,$gw_ctx,$piece_ctx,$(for g in machine gw piece worker backend; do printf ',%s' "$(cores idle0 idle1 "$g")"; done | cut -c2-),$FALSE_DEATHS,$SUSPICIONS,$ROUTES_DROPPED" \
      >>"$tmp/scaling.csv"
  done
  stop_group "worker "
  stop_group "piece "
  stop_group "gw "
  stop_group "nats "
  stop_group "etcd "
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started=$SECONDS
for backend in $BACKENDS; do run_backend; done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
draw_and_report

