#!/usr/bin/env bash
# The cost of isla's layer over etcd, and the embedded store against etcd, under one load:
#
#   (a) isla-on-etcd : 3 isla gateways with --store etcd:// on a 3-member etcd cluster;
#                      wrk PUT /api/kv/{key} against gateway 1 (bench/lua/isla.lua)
#   (b) etcd         : the same etcd cluster's own JSON API; wrk POST /v3/kv/put against
#                      its leader (bench/lua/etcd.lua)
#   (c) embedded     : 3 isla gateways on the embedded Raft store (--store-voters);
#                      wrk PUT /api/kv/{key} against the store's leader
#
# Each: wrk -t2 -cCONNECTIONS after a WARMUP-second warm-up (not reported), DURATION seconds,
# KEYS keys at random, VALUE_SIZE-byte values; p50/p99 from wrk's histogram (bench/lua/
# common.lua). Then writes/s, p50, p99, errors and the CPU isla's gateways and etcd's members
# spent per write (µs, from /proc, bench/lib/proc_cpu.sh) of each, and the ratios a/b (goal >= 0.8:
# what isla's layer costs) and c/b (goal >= 2). It reports; it never asserts a goal.
# (a) and (b) share the etcd cluster and run one after the other; the isla-on-etcd gateways
# are stopped before (b), and etcd before (c): one system loads the machine at a time.
# The etcd URL given to the gateways names etcd's leader first, so that isla's requests go
# where wrk's go in (b).
#
# Knobs (environment): DURATION (s, 10), CONNECTIONS (64), VALUE_SIZE (256), KEYS (10000),
# WARMUP (s, 2), ISLA_BIN (build/isla), ETCD_BIN (etcd), KEEP_TMP (1 keeps the temp dir).
# Only loopback addresses: etcd on 127.0.7.{1,2,3}:2379/2380, isla-on-etcd gateways on
# 127.0.8.{1,2,3}:5235, embedded gateways on 127.0.9.{1,2,3}:5235.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source "$root/bench/lib/log_tails.sh"

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
VALUE_SIZE="${VALUE_SIZE:-256}"
KEYS="${KEYS:-10000}"
WARMUP="${WARMUP:-2}"
ISLA_BIN="${ISLA_BIN:-build/isla}"
ETCD_BIN="${ETCD_BIN:-etcd}"
KEEP_TMP="${KEEP_TMP:-0}"
WRK_THREADS=2
START_TIMEOUT=30
TOOL=(python3 "$root/bench/store_tool.py")
export STORE_BENCH_LUA_DIR="$root/bench/lua"

ETCD_HOSTS=(127.0.7.1 127.0.7.2 127.0.7.3)
ON_ETCD_HOSTS=(127.0.8.1 127.0.8.2 127.0.8.3)
EMBEDDED_HOSTS=(127.0.9.1 127.0.9.2 127.0.9.3)
ISLA_PORT=5235

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "== $*" >&2; }
posint() { [[ "$2" =~ ^[0-9]+$ && "$2" -ge "$3" ]] || die "$1 must be an integer >= $3 (got '$2')"; }
posint DURATION "$DURATION" 1
posint CONNECTIONS "$CONNECTIONS" 1
posint VALUE_SIZE "$VALUE_SIZE" 1
posint KEYS "$KEYS" 1
posint WARMUP "$WARMUP" 1
((KEYS <= 100000)) || die "KEYS must be <= 100000 (keys are k00000..k99999)"
for tool in wrk python3 curl "$ETCD_BIN"; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run 'make deps' (or bash scripts/deps.sh) first"
done
[[ -x "$ISLA_BIN" ]] || die "isla binary '$ISLA_BIN' not found; run 'make build' (or set ISLA_BIN)"
[[ "$("$ISLA_BIN" gateway --help 2>/dev/null)" == *"--store "* ]] ||
  die "'$ISLA_BIN gateway' has no --store option: build a commit with the etcd back end"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/isla-kv-on-etcd.XXXXXX")"
declare -A PID=()  # "etcd 1" / "on-etcd 2" / "embedded 3" -> pid
wrk_pid=""

# ours PID: alive, and started by this script (its command line names our temp dir).
ours() {
  local cmd
  cmd="$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)" || return 1
  [[ "$cmd" == *"$tmp"* ]]
}
stop_group() {  # stop_group PREFIX: SIGTERM the group's processes, SIGKILL after 5 s
  local k pids=() pid deadline
  for k in "${!PID[@]}"; do [[ "$k" == "$1 "* ]] && pids+=("${PID[$k]}") && unset "PID[$k]"; done
  for pid in "${pids[@]}"; do ours "$pid" && kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 5))
  for pid in "${pids[@]}"; do
    while ours "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    ours "$pid" && kill -KILL "$pid" 2>/dev/null || true
  done
  return 0
}
cleanup() {
  local rc=$?
  set +e
  [[ -n "$wrk_pid" ]] && kill -TERM "$wrk_pid" 2>/dev/null && wait "$wrk_pid" 2>/dev/null
  stop_group on-etcd
  stop_group embedded
  stop_group etcd
  ((rc != 0)) && print_log_tails "$tmp" 15 "$tmp"/*.log
  if [[ "$KEEP_TMP" == 1 ]]; then note "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private copy: the binary may be rebuilt while this runs.
cp -p "$ISLA_BIN" "$tmp/isla-bin"
ISLA_RUN="$tmp/isla-bin"

join_by() { local IFS="$1"; shift; echo "$*"; }
with_port() { local p="$1" h out=(); shift; for h in "$@"; do out+=("$h:$p"); done; join_by , "${out[@]}"; }

source "$root/bench/lib/etcd.sh"
start_etcd() {
  local n
  for n in 1 2 3; do
    etcd_member_args "$n" 2379 2380 "isla-kv-on-etcd-$$"
    env -u ETCD_BIN "$ETCD_BIN" "${etcd_args[@]}" >>"$tmp/etcd$n.log" 2>&1 &
    PID["etcd $n"]=$!
    disown "$!"
  done
}

# start_gateways GROUP HOSTS... [-- EXTRA FLAGS]
start_gateways() {
  local group="$1" n=0 hosts=() extra=()
  shift
  while (($#)) && [[ "$1" != -- ]]; do hosts+=("$1"); shift; done
  (($#)) && shift && extra=("$@")
  local voters
  voters="$(with_port "$ISLA_PORT" "${hosts[@]}")"
  for host in "${hosts[@]}"; do
    n=$((n + 1))
    mkdir -p "$tmp/$group$n"
    "$ISLA_RUN" gateway --listen "$host:$ISLA_PORT" --island bench --data-dir "$tmp/$group$n" \
      --store-voters "$voters" --threads 2 "${extra[@]}" >>"$tmp/$group$n.log" 2>&1 &
    PID["$group $n"]=$!
    disown "$!"
  done
}

# wait_leader SYSTEM NODES: prints the leader's address once all agree (store_tool.py ready).
wait_leader() {
  local deadline=$((SECONDS + START_TIMEOUT)) leader
  while ((SECONDS < deadline)); do
    if leader="$("${TOOL[@]}" "$1" "$2" ready 2>/dev/null)"; then
      echo "$leader"
      return 0
    fi
    sleep 0.2
  done
  die "$1 ($2): no leader agreed on within ${START_TIMEOUT}s"
}

# The gateways on etcd agree on a leader (the etcd election) once the store answers.
wait_gateways_on_etcd() {
  local deadline=$((SECONDS + START_TIMEOUT)) host
  while ((SECONDS < deadline)); do
    local all=1
    for host in "${ON_ETCD_HOSTS[@]}"; do
      curl -sf -m 1 "http://$host:$ISLA_PORT/api/status" | grep -q '"leader_address":"[0-9]' || all=0
    done
    ((all)) && return 0
    sleep 0.2
  done
  die "the gateways on etcd did not elect a leader within ${START_TIMEOUT}s"
}

source "$root/bench/lib/proc_cpu.sh"
source "$root/bench/lib/wrk.sh"
source "$root/bench/lib/store_bench.sh"
# (returns 0: under set -e a subshell calling it twice would stop at a false last test)
group_pids() { local k; for k in "${!PID[@]}"; do [[ "$k" == "$1 "* ]] && echo "${PID[$k]}"; done; return 0; }

# run_wrk NAME URL LUA [EXTRA]: also the CPU the isla gateways and etcd members spent per
# write in the measured run (µs), to tell where the time goes on a machine of few cores.
declare -A RPS P50 P99 ERR CPU_ISLA CPU_ETCD
run_wrk() {
  local name="$1" url="$2" lua="$3" extra="${4:-}"
  local args=(-t"$WRK_THREADS" -c"$CONNECTIONS" -s "$lua" "$url" -- write "$KEYS" "$VALUE_SIZE")
  [[ -n "$extra" ]] && args+=("$extra")
  note "${name}: writes, warm-up ${WARMUP}s, then ${DURATION}s (-t${WRK_THREADS} -c${CONNECTIONS}) -> ${url}"
  wrk_bg "$tmp/wrk-${name}-warmup.txt" -d"${WARMUP}s" "${args[@]}"
  local isla_pids etcd_pids isla0 etcd0 hz
  mapfile -t isla_pids < <(group_pids on-etcd; group_pids embedded)
  mapfile -t etcd_pids < <(group_pids etcd)
  isla0="$(cpu_ticks "${isla_pids[@]}")"
  etcd0="$(cpu_ticks "${etcd_pids[@]}")"
  wrk_bg "$tmp/wrk-${name}.txt" -d"${DURATION}s" "${args[@]}"
  hz="$(getconf CLK_TCK)"
  CPU_ISLA[$name]=$((($(cpu_ticks "${isla_pids[@]}") - isla0) * 1000000 / hz))
  CPU_ETCD[$name]=$((($(cpu_ticks "${etcd_pids[@]}") - etcd0) * 1000000 / hz))
  read_store_bench "$name" "$tmp/wrk-${name}.txt"
}

# ---------------------------------------------------------------- (a) and (b) on one etcd
start_etcd
etcd_nodes="$(with_port 2379 "${ETCD_HOSTS[@]}")"
etcd_leader="$(wait_leader etcd "$etcd_nodes")"
note "etcd leader: $etcd_leader"
store_url="etcd://$etcd_leader"
for node in ${etcd_nodes//,/ }; do [[ "$node" == "$etcd_leader" ]] || store_url+=",$node"; done

start_gateways on-etcd "${ON_ETCD_HOSTS[@]}" -- --store "$store_url"
wait_gateways_on_etcd
run_wrk isla-on-etcd "http://${ON_ETCD_HOSTS[0]}:$ISLA_PORT" bench/lua/isla.lua
stop_group on-etcd

run_wrk etcd "http://$etcd_leader" bench/lua/etcd.lua /v3
stop_group etcd

# ---------------------------------------------------------------- (c) the embedded store
start_gateways embedded "${EMBEDDED_HOSTS[@]}"
embedded_leader="$(wait_leader isla "$(with_port "$ISLA_PORT" "${EMBEDDED_HOSTS[@]}")")"
run_wrk embedded "http://$embedded_leader" bench/lua/isla.lua
stop_group embedded

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "kv_on_etcd: wrk -t${WRK_THREADS} -c${CONNECTIONS} -d${DURATION}s (after ${WARMUP}s warm-up), ${KEYS} keys at random, ${VALUE_SIZE}-byte values, writes"
printf '%-14s %12s %10s %10s %8s %16s %16s\n' system writes/s p50_ms p99_ms errors isla_cpu_us/write etcd_cpu_us/write
for name in isla-on-etcd etcd embedded; do
  writes="$(awk -v r="${RPS[$name]}" -v d="$DURATION" 'BEGIN { printf "%d", r * d }')"
  per() { awk -v c="$1" -v w="$writes" 'BEGIN { if (w > 0) printf "%.0f", c / w; else print "n/a" }'; }
  printf '%-14s %12.0f %10s %10s %8s %16s %16s\n' "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "${ERR[$name]}" \
    "$(per "${CPU_ISLA[$name]}")" "$(per "${CPU_ETCD[$name]}")"
done
echo "a/b (isla-on-etcd / etcd) = $(ratio "${RPS[isla-on-etcd]}" "${RPS[etcd]}")   goal >= 0.8"
echo "c/b (embedded / etcd)     = $(ratio "${RPS[embedded]}" "${RPS[etcd]}")   goal >= 2"
