#!/usr/bin/env bash
# Issue 12: isla's task queue against NATS JetStream as a work queue, both 3-node clusters on
# loopback, moving the same number of tiny tasks with the same producer and consumer
# concurrency, one system after the other (only one cluster runs at a time).
#
#   nats : nats-server -js (Debian nats-server), 3 nodes on 127.0.0.1 (free ports: client,
#          cluster, monitoring), store dirs in the temp dir. build/bench/nats_queue_bench:
#          stream TASKS (WorkQueuePolicy, FileStorage, 3 replicas), a durable pull consumer
#          (AckExplicit); PRODUCERS threads js_PublishAsync with WINDOW unacknowledged each and
#          wait for every publish ack; WORKERS connections x CONCURRENCY threads fetch FETCH
#          messages at a time and natsMsg_AckSync each one.
#   isla : 3 gateways (127.0.13.1-3:5235, the store's voters, one island secret) and WORKERS
#          `isla worker --concurrency CONCURRENCY` processes. build/bench/isla_queue_bench:
#          PRODUCERS threads with WINDOW POST /api/tasks in flight each (202: written to the
#          store), spread over the gateways, with a write token; one GET /api/events subscriber
#          counts the done records and reads their submitted_ms/finished_ms.
#
# Reported, side by side: tasks, seconds (first submission to last completion), tasks/s,
# end-to-end p50/p99 (submission to recorded completion), submit-accept p50/p99, errors, and
# the CPU time per task of each system's servers (nats-server x3; isla gateways x3) and of its
# consumers (isla workers; NATS's consumers run in the bench binary, whose whole CPU is shown);
# then isla/nats ratios. Then isla's dispatch latency on an idle island (DISPATCH_SAMPLES tasks
# one at a time with one idle worker of concurrency 1: started_ms - submitted_ms; NATS's
# counterpart: publish to fetched, one at a time) and, when the gateways have an autoscaler
# (--autoscale, off in the runs above), its reaction: gateways restarted with it on, one worker to
# begin with, a burst of AUTOSCALE_TASKS; the time from the first submission to its first
# scale_up event (the Kubernetes HPA's sync period, 15 s, is the yardstick).
#   isla-on-nats (SYSTEMS word `islanats`, issue 14): isla's queue on JetStream: the same 3
#          gateways started with `--queue nats://...` on the same 3-node nats-server cluster
#          (stream ISLA_TASKS beside the direct run's TASKS: R3, file storage, work-queue
#          retention, explicit acks), the same workers and load as `isla`; its tasks/s over
#          the direct `nats` run's is the goal's ratio (>= 0.8, reported, not asserted).
# It reports; it never asserts a goal.
#
# Knobs (environment): TASKS (20000), PRODUCERS (8), WINDOW (32), WORKERS (4), CONCURRENCY (8),
# FETCH (8), DISPATCH_SAMPLES (200), AUTOSCALE_TASKS (10000), SYSTEMS ("nats isla islanats"), TIMEOUT (s per run, 180),
# ISLA_BIN (build/isla), BENCH_DIR (build/bench), NATS_BIN (nats-server),
# WORKER_FLAGS (extra flags for every `isla worker`), KEEP_TMP (1 keeps the temp dir and logs).
# Only loopback addresses are used; all state lives in a temp dir removed on exit.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

TASKS="${TASKS:-20000}"
PRODUCERS="${PRODUCERS:-8}"
WINDOW="${WINDOW:-32}"
WORKERS="${WORKERS:-4}"
CONCURRENCY="${CONCURRENCY:-8}"
FETCH="${FETCH:-8}"
DISPATCH_SAMPLES="${DISPATCH_SAMPLES:-200}"
AUTOSCALE_TASKS="${AUTOSCALE_TASKS:-10000}"
SYSTEMS="${SYSTEMS:-nats isla islanats}"
TIMEOUT="${TIMEOUT:-180}"
ISLA_BIN="${ISLA_BIN:-build/isla}"
BENCH_DIR="${BENCH_DIR:-build/bench}"
NATS_BIN="${NATS_BIN:-nats-server}"
WORKER_FLAGS="${WORKER_FLAGS:-}"
START_TIMEOUT=30
ISLA_GATEWAYS=(127.0.13.1:5235 127.0.13.2:5235 127.0.13.3:5235)

note() { echo "queue_vs_nats: $*" >&2; }
die() {
  note "$*"
  exit 1
}
source "$root/bench/lib/proxy_bench.sh"

# ---------------------------------------------------------------- preconditions
for knob in TASKS PRODUCERS WINDOW WORKERS CONCURRENCY FETCH DISPATCH_SAMPLES AUTOSCALE_TASKS TIMEOUT; do
  [[ "${!knob}" =~ ^[0-9]+$ && "${!knob}" -gt 0 ]] || die "$knob must be a positive integer"
done
want_nats=0 want_isla=0 want_islanats=0
for s in $SYSTEMS; do
  case "$s" in
    nats) want_nats=1 ;;
    isla) want_isla=1 ;;
    islanats) want_islanats=1 ;;
    *) die "SYSTEMS may only name nats, isla and islanats (got '$s')" ;;
  esac
done
((want_nats + want_isla + want_islanats > 0)) || die "SYSTEMS is empty"
for tool in curl python3; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run 'make deps' first"
done
if ((want_nats || want_islanats)); then
  command -v "$NATS_BIN" >/dev/null 2>&1 || die "'$NATS_BIN' not found; run 'make deps' (package nats-server)"
  [[ -x "$BENCH_DIR/nats_queue_bench" ]] ||
    die "$BENCH_DIR/nats_queue_bench not built: cmake --build build --target nats_queue_bench (needs libnats-dev)"
fi
if ((want_isla || want_islanats)); then
  [[ -x "$ISLA_BIN" ]] || die "isla binary '$ISLA_BIN' not found; run 'make build' (or set ISLA_BIN)"
  [[ -x "$BENCH_DIR/isla_queue_bench" ]] ||
    die "$BENCH_DIR/isla_queue_bench not built: cmake --build build --target isla_queue_bench"
  if command -v ss >/dev/null 2>&1; then
    for addr in "${ISLA_GATEWAYS[@]}"; do
      ! ss -Hltn "src = ${addr}" 2>/dev/null | grep -q . ||
        die "something already listens on ${addr} (another benchmark still running?)"
    done
  fi
fi

# ---------------------------------------------------------------- cleanup
tmp="$(mktemp -d "${TMPDIR:-/tmp}/isla-queue-bench.XXXXXX")"
declare -a nats_pid=() gw_pid=() worker_pid=()

cleanup() {
  local rc=$? pids=() pid
  set +e
  for pid in "${worker_pid[@]}" "${gw_pid[@]}" "${nats_pid[@]}"; do [[ -n "$pid" ]] && pids+=("$pid"); done
  ((${#pids[@]})) && stop_pids "${pids[@]}"
  ((rc != 0)) && print_log_tails "$tmp" 15 "$tmp"/*.log
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then note "kept $tmp (KEEP_TMP=1)"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# json FILE EXPRESSION: a field of the one JSON line in FILE (python3, as the other benches).
json() {
  python3 -c 'import json, sys
d = json.loads(open(sys.argv[1]).readline())
v = eval(sys.argv[2], {}, {"d": d})
print("n/a" if v is None else (f"{v:.6g}" if isinstance(v, float) else v))' "$1" "$2"
}

# free_ports N: N TCP ports on 127.0.0.1 nobody listens on now (bound together, then freed).
free_ports() {
  python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# ---------------------------------------------------------------- NATS JetStream
NATS_IDLE_NOTE=""
NATS_NOTE=""  # read as ${!note_var} in the report
nats_healthy() { [[ "$(http_code "http://127.0.0.1:$1/healthz")" == 200 ]]; }

NATS_SERVERS=""
run_nats() {
  local ports client=() cluster=() monitor=() i routes servers
  read -r -a ports <<<"$(free_ports 9)"
  for i in 0 1 2; do
    client[i]=${ports[i]} cluster[i]=${ports[i + 3]} monitor[i]=${ports[i + 6]}
  done
  for i in 0 1 2; do
    routes="nats://127.0.0.1:${cluster[(i + 1) % 3]},nats://127.0.0.1:${cluster[(i + 2) % 3]}"
    mkdir -p "$tmp/nats$i"
    "$NATS_BIN" -js -a 127.0.0.1 -p "${client[i]}" -m "${monitor[i]}" -n "bench-n$i" \
      --cluster_name isla-queue-bench --cluster "nats://127.0.0.1:${cluster[i]}" --routes "$routes" \
      -sd "$tmp/nats$i" >"$tmp/nats$i.log" 2>&1 &
    nats_pid[i]=$!
  done
  # /healthz answers 200 once the server's JetStream is up (the meta leader may still be
  # being elected: nats_queue_bench retries creating the stream until there is one).
  for i in 0 1 2; do
    wait_until "nats-server ${client[i]}" "$START_TIMEOUT" "${nats_pid[i]}" \
      nats_healthy "${monitor[i]}"
  done
  servers="nats://127.0.0.1:${client[0]},nats://127.0.0.1:${client[1]},nats://127.0.0.1:${client[2]}"
  NATS_SERVERS="$servers"
  if ((!want_nats)); then return 0; fi
  note "nats: ${TASKS} tasks, ${PRODUCERS} producers x window ${WINDOW}, ${WORKERS} x ${CONCURRENCY} consumers (fetch ${FETCH})"
  # shellcheck disable=SC2034 # NATS_NOTE is read as ${!note_var} in the report
  "$BENCH_DIR/nats_queue_bench" --servers "$servers" --tasks "$TASKS" --producers "$PRODUCERS" \
    --window "$WINDOW" --workers "$WORKERS" --concurrency "$CONCURRENCY" --fetch "$FETCH" \
    --timeout-s "$TIMEOUT" --server-pids "$(IFS=,; echo "${nats_pid[*]}")" \
    >"$tmp/nats.json" 2>"$tmp/nats-bench.log" || NATS_NOTE="nats_queue_bench exited $? ($(tail -n 1 "$tmp/nats-bench.log"))"
  # Idle: one task at a time (one producer with one publish in flight, one consumer thread
  # fetching one message), the counterpart of isla's dispatch run below.
  note "nats: idle, ${DISPATCH_SAMPLES} tasks one at a time"
  "$BENCH_DIR/nats_queue_bench" --servers "$servers" --tasks "$DISPATCH_SAMPLES" --producers 1 \
    --window 1 --workers 1 --concurrency 1 --fetch 1 --one-at-a-time --timeout-s "$TIMEOUT" \
    >"$tmp/nats-idle.json" 2>"$tmp/nats-idle.log" || NATS_IDLE_NOTE="exited $? ($(tail -n 1 "$tmp/nats-idle.log"))"
  NATS_VERSION="$("$NATS_BIN" --version 2>&1 | head -n 1)"
}

stop_nats() {
  if ((${#nats_pid[@]})); then stop_pids "${nats_pid[@]}" || true; fi  # not ours to judge
  nats_pid=()
}

# ---------------------------------------------------------------- isla
ISLA_NOTE=""
DISPATCH_NOTE=""
AUTOSCALE_NOTE=""

# gateway_led ADDRESS: the gateway knows its store's leader.
gateway_led() {
  curl -s --max-time 1 "http://$1/api/status" 2>/dev/null |
    python3 -c 'import json, sys
s = json.load(sys.stdin).get("store") or {}
sys.exit(0 if s.get("leader_address") else 1)' 2>/dev/null
}

# start_workers COUNT CONCURRENCY: `isla worker` processes, their pids appended to worker_pid.
# The worker's command line is read from its --help (--gateway or --gateways; --name if it
# has one), so that the script follows the command as it settles; WORKER_FLAGS adds to it.
start_workers() {
  local count=$1 concurrency=$2 k n=${#worker_pid[@]} help gateways flags=()
  help="$("$ISLA_BIN" worker --help 2>&1 || true)"
  gateways="$(IFS=,; echo "${ISLA_GATEWAYS[*]}")"
  if [[ "$help" == *--gateways* ]]; then flags+=(--gateways "$gateways"); else flags+=(--gateway "$gateways"); fi
  for ((k = 0; k < count; k++)); do
    local name=()
    [[ "$help" == *--name* ]] && name=(--name "bench-w$((n + k))")
    # shellcheck disable=SC2086 # WORKER_FLAGS is a list of flags
    "$ISLA_BIN" worker "${flags[@]}" --secret-file "$tmp/island.secret" --concurrency "$concurrency" \
      "${name[@]}" $WORKER_FLAGS >"$tmp/worker$((n + k)).log" 2>&1 &
    worker_pid+=($!)
  done
}

stop_workers() {
  if ((${#worker_pid[@]})); then stop_pids "${worker_pid[@]}" || true; fi
  worker_pid=()
}

# start_gateways FLAGS...: the 3 gateways (same data dirs every time) with these extra flags,
# then waits until each knows its store's leader.
GW_DIR=gw  # the gateways' data dirs: $tmp/${GW_DIR}0..2
start_gateways() {
  local i voters
  voters="$(IFS=,; echo "${ISLA_GATEWAYS[*]}")"
  for i in 0 1 2; do
    mkdir -p "$tmp/$GW_DIR$i"
    "$ISLA_BIN" gateway --listen "${ISLA_GATEWAYS[i]}" --island queue-bench --data-dir "$tmp/$GW_DIR$i" \
      --store-voters "$voters" --secret-file "$tmp/island.secret" "$@" >>"$tmp/$GW_DIR$i.log" 2>&1 &
    gw_pid[i]=$!
  done
  for i in 0 1 2; do
    wait_until "gateway ${ISLA_GATEWAYS[i]}" "$START_TIMEOUT" "${gw_pid[i]}" gateway_led "${ISLA_GATEWAYS[i]}"
  done
}

stop_gateways() {
  stop_pids "${gw_pid[@]}" || true
  gw_pid=()
}

make_credentials() {
  [[ -s "$tmp/write.token" ]] && return 0
  "$ISLA_BIN" secret init --out "$tmp/island.secret" >"$tmp/secret.log" 2>&1 ||
    die "isla secret init failed: $(cat "$tmp/secret.log")"
  "$ISLA_BIN" token create --secret-file "$tmp/island.secret" --role write --ttl 1h \
    --subject queue-bench --out "$tmp/write.token" >>"$tmp/secret.log" 2>&1 ||
    die "isla token create failed: $(cat "$tmp/secret.log")"
}

run_isla() {
  local voters status autoscaler=0
  make_credentials
  voters="$(IFS=,; echo "${ISLA_GATEWAYS[*]}")"
  # The gateways' autoscaler (--autoscale) stays off for the fixed-pool runs, so that both
  # systems run the same consumers; it gets a run of its own afterwards.
  # The help is read whole before it is searched: `grep -q` quits at the first match, and
  # under pipefail the writer's SIGPIPE would then read as "no such option".
  local gateway_help worker_help
  gateway_help="$("$ISLA_BIN" gateway --help 2>&1 || true)"
  worker_help="$("$ISLA_BIN" worker --help 2>&1 || true)"
  if grep -q -- --autoscale <<<"$gateway_help"; then autoscaler=1; fi
  start_gateways
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    -H "Authorization: Bearer $(cat "$tmp/write.token")" "http://${ISLA_GATEWAYS[0]}/api/task-types" || true)"
  if [[ "$status" != 200 ]]; then
    ISLA_NOTE="not run: GET /api/task-types answered '${status}' (this build's gateways have no task API yet)"
    return 0
  fi
  if ! grep -q -- --concurrency <<<"$worker_help"; then
    ISLA_NOTE="not run: '$ISLA_BIN worker' (with --concurrency) does not exist in this build"
    return 0
  fi
  local common=(--gateways "$voters" --token-file "$tmp/write.token" --timeout-s "$TIMEOUT")

  # Dispatch on an idle island: one worker, one slot, one task at a time.
  start_workers 1 1
  note "isla: dispatch latency, ${DISPATCH_SAMPLES} tasks one at a time, one idle worker"
  "$BENCH_DIR/isla_queue_bench" "${common[@]}" dispatch --samples "$DISPATCH_SAMPLES" \
    >"$tmp/isla-dispatch.json" 2>"$tmp/isla-dispatch.log" ||
    DISPATCH_NOTE="isla_queue_bench dispatch exited $? ($(tail -n 1 "$tmp/isla-dispatch.log"))"
  stop_workers

  start_workers "$WORKERS" "$CONCURRENCY"
  note "isla: ${TASKS} tasks, ${PRODUCERS} producers x window ${WINDOW}, ${WORKERS} workers x ${CONCURRENCY}"
  "$BENCH_DIR/isla_queue_bench" "${common[@]}" load --tasks "$TASKS" --producers "$PRODUCERS" \
    --window "$WINDOW" --server-pids "$(IFS=,; echo "${gw_pid[*]}")" \
    --worker-pids "$(IFS=,; echo "${worker_pid[*]}")" >"$tmp/isla.json" 2>"$tmp/isla-bench.log" ||
    ISLA_NOTE="isla_queue_bench load exited $? ($(tail -n 1 "$tmp/isla-bench.log"))"
  stop_workers
  stop_gateways

  # The autoscaler's reaction: gateways restarted with it on (one worker of concurrency
  # CONCURRENCY to begin with, at most WORKERS), then a burst of AUTOSCALE_TASKS.
  if ((!autoscaler)); then
    AUTOSCALE_NOTE="not run: 'isla gateway' has no --autoscale in this build"
    return 0
  fi
  start_gateways --autoscale --min-workers 1 --max-workers "$WORKERS" --worker-concurrency "$CONCURRENCY"
  note "isla: autoscaler, a burst of ${AUTOSCALE_TASKS} tasks, 1 to ${WORKERS} workers started by the gateways"
  "$BENCH_DIR/isla_queue_bench" "${common[@]}" load --tasks "$AUTOSCALE_TASKS" --producers "$PRODUCERS" \
    --window "$WINDOW" >"$tmp/isla-autoscale.json" 2>"$tmp/isla-autoscale.log" ||
    AUTOSCALE_NOTE="isla_queue_bench load exited $? ($(tail -n 1 "$tmp/isla-autoscale.log"))"
  stop_gateways
}

# isla's queue on JetStream: the direct run's cluster, fresh gateways with --queue, the same
# workers and load as run_isla's fixed-pool run.
ISLANATS_NOTE=""
run_islanats() {
  local voters
  make_credentials
  voters="$(IFS=,; echo "${ISLA_GATEWAYS[*]}")"
  GW_DIR=gwnats
  start_gateways --queue "$NATS_SERVERS"
  start_workers "$WORKERS" "$CONCURRENCY"
  note "isla on nats: ${TASKS} tasks, ${PRODUCERS} producers x window ${WINDOW}, ${WORKERS} workers x ${CONCURRENCY}"
  "$BENCH_DIR/isla_queue_bench" --gateways "$voters" --token-file "$tmp/write.token" \
    --timeout-s "$TIMEOUT" load --tasks "$TASKS" --producers "$PRODUCERS" --window "$WINDOW" \
    --server-pids "$(IFS=,; echo "${gw_pid[*]} ${nats_pid[*]}" | tr ' ' ',')" \
    --worker-pids "$(IFS=,; echo "${worker_pid[*]}")" >"$tmp/islanats.json" 2>"$tmp/islanats-bench.log" ||
    ISLANATS_NOTE="isla_queue_bench load exited $? ($(tail -n 1 "$tmp/islanats-bench.log"))"
  stop_workers
  stop_gateways
  GW_DIR=gw
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
NATS_VERSION=""
if ((want_nats || want_islanats)); then run_nats; fi
if ((want_islanats)); then run_islanats; fi
stop_nats
if ((want_isla)); then run_isla; fi
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- report
# per_task FILE FIELD: µs of CPU per completed task.
per_task() {
  python3 -c 'import json, sys
d = json.loads(open(sys.argv[1]).readline())
v, n = d.get(sys.argv[2]), d.get("tasks") or 0
print("n/a" if v is None or n == 0 else f"{v * 1e6 / n:.0f}")' "$1" "$2"
}
# num VALUE DECIMALS: VALUE rounded, or n/a when it is not a number.
num() { awk -v v="$1" -v d="$2" 'BEGIN { if (v ~ /^[0-9.e+-]+$/) printf "%.*f", d, v; else print "n/a" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.e+-]+$/ && b ~ /^[0-9.e+-]+$/ && b > 0) printf "%.2f", a / b; else print "n/a" }'; }

cpu_model="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
echo "isla task queue vs NATS JetStream — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine : nproc=$(nproc), ${cpu_model:-unknown CPU}, kernel $(uname -r)"
echo "load avg: ${load_before} before, ${load_after} after (1/5/15 min)"
echo "isla    : commit ${commit}, ${ISLA_BIN}; 3 gateways (store voters), ${WORKERS} x isla worker --concurrency ${CONCURRENCY}"
echo "nats    : ${NATS_VERSION:-not run}, 3 nodes -js, stream R3 file storage, work-queue retention, pull consumer, AckSync"
echo "load    : ${TASKS} tasks {\"type\":\"sum\",\"params\":{\"values\":[1,2]}}, ${PRODUCERS} producers x ${WINDOW} in flight," \
  "${WORKERS} x ${CONCURRENCY} consumers (NATS fetch ${FETCH})"
echo
printf '%-10s %7s %8s %9s %8s %8s %8s %8s %7s %11s %11s %11s\n' system tasks seconds tasks/s \
  "e2e p50" "e2e p99" "acc p50" "acc p99" errors "server CPU" "consumer" "bench CPU"
printf '%-10s %7s %8s %9s %8s %8s %8s %8s %7s %11s %11s %11s\n' "" "" s "" ms ms ms ms "" "us/task" \
  "us/task" "us/task"
declare -A TPS=() E50=() E99=() A50=() CPU=()
for s in nats isla islanats; do
  want="want_$s"
  ((${!want})) || continue
  f="$tmp/$s.json"
  note_var="${s^^}_NOTE"
  if [[ ! -s "$f" ]]; then
    echo "${s}: ${!note_var:-no result}"
    continue
  fi
  TPS[$s]="$(json "$f" 'd["tasks_per_s"]')"
  E50[$s]="$(json "$f" 'd["e2e"]["p50_ms"]')" E99[$s]="$(json "$f" 'd["e2e"]["p99_ms"]')"
  A50[$s]="$(json "$f" 'd["accept"]["p50_ms"]')"
  CPU[$s]="$(per_task "$f" server_cpu_s)"
  consumer="n/a (in bench)"
  [[ "$s" == isla* ]] && consumer="$(per_task "$f" worker_cpu_s)"
  printf '%-10s %7s %8s %9s %8s %8s %8s %8s %7s %11s %11s %11s\n' "$s" \
    "$(json "$f" 'd["tasks"]')" "$(num "$(json "$f" 'd["seconds"]')" 2)" "$(num "${TPS[$s]}" 0)" \
    "$(num "${E50[$s]}" 2)" "$(num "${E99[$s]}" 2)" "$(num "${A50[$s]}" 2)" \
    "$(num "$(json "$f" 'd["accept"]["p99_ms"]')" 2)" "$(json "$f" 'd["errors"]')" "${CPU[$s]}" \
    "$consumer" "$(per_task "$f" client_cpu_s)"
  if [[ -n "${!note_var}" ]]; then echo "  ${s}: ${!note_var}"; fi
  first_error="$(json "$f" 'd["first_error"]')"
  if [[ -n "$first_error" ]]; then echo "  ${s} first error: ${first_error}"; fi
done
if [[ -n "${TPS[nats]:-}" && -n "${TPS[isla]:-}" ]]; then
  printf '%-10s %7s %8s %9s %8s %8s %8s %8s %7s %11s\n' "isla/nats" "" "" \
    "$(ratio "${TPS[isla]}" "${TPS[nats]}")" "$(ratio "${E50[isla]}" "${E50[nats]}")" \
    "$(ratio "${E99[isla]}" "${E99[nats]}")" "$(ratio "${A50[isla]}" "${A50[nats]}")" "" "" \
    "$(ratio "${CPU[isla]}" "${CPU[nats]}")"
fi
if [[ -n "${TPS[nats]:-}" && -n "${TPS[islanats]:-}" ]]; then
  printf '%-13s %4s %8s %9s %8s %8s %8s %8s %7s %11s\n' "islanats/nats" "" "" \
    "$(ratio "${TPS[islanats]}" "${TPS[nats]}")" "$(ratio "${E50[islanats]}" "${E50[nats]}")" \
    "$(ratio "${E99[islanats]}" "${E99[nats]}")" "$(ratio "${A50[islanats]}" "${A50[nats]}")" "" "" \
    "$(ratio "${CPU[islanats]}" "${CPU[nats]}")"
  echo "islanats: isla's queue on JetStream (gateways --queue nats://..., the same 3 nats-servers);"
  echo "  its server CPU counts the gateways and the nats-servers. Goal (issue 14, reported, not asserted):"
  echo "  tasks/s >= 0.8x JetStream driven directly: $(awk -v v="$(ratio "${TPS[islanats]}" "${TPS[nats]}")" 'BEGIN { if (v !~ /^[0-9.]+$/) print "n/a"; else if (v >= 0.8) print "met"; else print "not met" }')"
fi
# The submission phase alone (every submission accepted): what batching the submissions acts on.
subs=""
for s in nats isla islanats; do
  f="$tmp/$s.json"
  [[ -s "$f" ]] || continue
  subs+=" $s $(num "$(json "$f" 'd["accepted"] / d["accept_seconds"] if d.get("accept_seconds") else None')" 0)/s"
  subs+=" ($(num "$(json "$f" 'd.get("accept_seconds")')" 2) s);"
done
[[ -n "$subs" ]] && echo "submissions accepted per second (first submission to the last one's acceptance):${subs%;}"
echo "seconds: first submission to last completion. e2e: submission to recorded completion (isla: the"
echo "record's finished_ms - submitted_ms, whole ms; nats: publish call to AckSync's return). acc: a"
echo "submission's round trip to its acceptance (isla 202, nats publish ack). server CPU: nats-server x3 /"
echo "isla gateways x3; consumer: isla workers; bench CPU: the load generator (NATS's consumers included)."

echo
if ((want_nats)); then
  if [[ -s "$tmp/nats-idle.json" ]]; then
    f="$tmp/nats-idle.json"
    echo "nats idle ($(json "$f" 'd["tasks"]') tasks one at a time, one consumer thread, fetch 1):" \
      "delivery (publish to fetched) p50 $(json "$f" 'd["delivery"]["p50_ms"]') ms," \
      "p99 $(json "$f" 'd["delivery"]["p99_ms"]') ms; e2e (to AckSync's return) p50" \
      "$(json "$f" 'd["e2e"]["p50_ms"]') ms; publish ack p50 $(json "$f" 'd["accept"]["p50_ms"]') ms;" \
      "errors $(json "$f" 'd["errors"]')"
  else
    echo "nats idle: ${NATS_IDLE_NOTE:-no result}"
  fi
fi
if ((want_isla)); then
  if [[ -s "$tmp/isla-dispatch.json" ]]; then
    f="$tmp/isla-dispatch.json"
    d50="$(json "$f" 'd["dispatch"]["p50_ms"]')"
    echo "isla dispatch on an idle island ($(json "$f" 'd["samples"]') tasks one at a time, one idle worker):" \
      "started_ms - submitted_ms p50 ${d50} ms, p99 $(json "$f" 'd["dispatch"]["p99_ms"]') ms (whole ms);" \
      "sync round trip p50 $(json "$f" 'd["sync_round_trip"]["p50_ms"]') ms; errors $(json "$f" 'd["errors"]')"
  else
    echo "isla dispatch on an idle island: ${DISPATCH_NOTE:-${ISLA_NOTE:-no result}}"
  fi
  if [[ -s "$tmp/isla-autoscale.json" ]]; then
    f="$tmp/isla-autoscale.json"
    echo "isla autoscaler (a burst of $(json "$f" 'd["submitted"]') tasks on 1 worker x ${CONCURRENCY}, at most ${WORKERS}):" \
      "first scale_up $(json "$f" 'd["first_scale_up_after_s"]') s after the first submission" \
      "(the Kubernetes HPA syncs every 15 s); $(json "$f" 'd["scaling_events"]') scaling event(s);" \
      "$(json "$f" 'd["tasks"]') tasks in $(num "$(json "$f" 'd["seconds"]')" 2) s; first: $(json "$f" 'd["first_scale_up"]')"
  else
    echo "isla autoscaler: ${AUTOSCALE_NOTE:-${ISLA_NOTE:-no result}}"
  fi
  goal() { awk -v v="$1" -v g="$2" -v op="$3" 'BEGIN { if (v !~ /^[0-9.e+-]+$/) print "n/a"; else if ((op == "ge" && v >= g) || (op == "lt" && v < g)) print "met"; else print "not met" }'; }
  echo "goals (reported, not asserted): throughput >= 1.0x JetStream's:" \
    "$(goal "$(ratio "${TPS[isla]:-}" "${TPS[nats]:-}")" 1.0 ge); idle dispatch p50 < 1 ms: $(goal "${d50:-}" 1 lt)"
fi
