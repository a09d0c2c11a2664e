#!/usr/bin/env bash
# Benchmarks isla's replicated KV store against etcd, both as 3-node clusters on loopback.
#
#   etcd : /usr/bin/etcd (Debian etcd-server), 127.0.4.{1,2,3}, client :2379, peer :2380,
#          through its JSON gateway: POST /v3/kv/put, POST /v3/kv/range (linearizable)
#   isla : isla gateway --store-voters, 127.0.5.{1,2,3}:5235: PUT /api/kv/{key},
#          GET /api/kv/{key} (linearizable)
#
# For each system, one after the other in SYSTEMS' order (only one cluster runs at a time):
#   1. start the cluster, wait (bounded) for an agreed leader, check put + get on every node;
#   2. write every key once (KEYS keys, VALUE_SIZE-byte values) through the leader;
#   2b. low load: the p50/p99 of 4 KiB write+fdatasync on the data dirs' filesystem
#      (bench/lib/fsync_probe.py, FSYNC_COUNT times); then one client, one request at a time on
#      one keep-alive connection to the leader, SEQ_COUNT requests or SEQ_SECONDS, whichever
#      first, of each: ping (isla GET /healthz, etcd GET /version: no store work), serializable
#      read, linearizable read, write (store_tool.py seq);
#   2c. isla only (STRACE=1): the same sequential writes, STRACE_WRITES of them, with strace on
#      all three nodes, attributed to stages by bench/lib/strace_breakdown.py;
#   3. writes: wrk -t2 -cCONNECTIONS -dDURATION against the leader, random keys; then
#      linearizable reads the same way (each after a WARMUP-second wrk warm-up, not reported);
#      p50/p99 come from wrk's latency histogram via a Lua done() hook (bench/lua/common.lua);
#   4. failover, REPEATS times: writers on every node, each writing one key at a time; kill -9
#      the leader; time from the kill to the first acknowledged write (sent after the kill) on a
#      surviving node; restart the killed node and wait (bounded) for it to catch up;
#   5. flaky link (FLAKY=1; root, iptables and cgroup2 needed, else skipped with the reason):
#      the link between the leader and one follower is cut (iptables REJECT, both directions)
#      and restored every FLAKY_PERIOD s by store_tool.py flap, which follows the leader; under
#      it, the writes of 3. and FLAKY_REPEATS failover rounds as in 4.
# Then the tables, with the ratios isla/etcd. It reports; it never asserts a goal.
#
# Knobs (environment): DURATION (s, 10), CONNECTIONS (64), VALUE_SIZE (bytes, 256), KEYS (10000),
# REPEATS (5), SYSTEMS ("etcd isla"), ISLA_BIN (build/isla, relative to the repo root),
# ETCD_BIN (etcd), ETCD_HEARTBEAT_MS (100) and ETCD_ELECTION_MS (1000) (etcd's defaults;
# isla ticks every 50 ms with an election timeout of 300-600 ms), FAILOVER_WRITERS (writers per node, 3), FAILOVER_TIMEOUT (s, 30),
# ETCD_PREVOTE (empty: etcd's default, false in 3.4; true or false sets --pre-vote; not
# ETCD_PRE_VOTE, which etcd itself would read from the environment and refuse beside the flag),
# SEQ_COUNT (2000), SEQ_SECONDS (10), FSYNC_COUNT (1000), STRACE (1), STRACE_WRITES (200),
# FLAKY (1), FLAKY_PERIOD (s, 1), FLAKY_REPEATS (REPEATS),
# KEEP_TMP (1 keeps the temp dir with the nodes' logs and wrk's output, for a look afterwards).
# Only loopback addresses are used; all state lives in a temp dir removed on exit, and the
# flaky link's iptables chain and cgroups are removed on exit too.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source "$root/bench/lib/log_tails.sh"

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
VALUE_SIZE="${VALUE_SIZE:-256}"
KEYS="${KEYS:-10000}"
REPEATS="${REPEATS:-5}"
SYSTEMS="${SYSTEMS:-etcd isla}"
ISLA_BIN="${ISLA_BIN:-build/isla}"
ETCD_BIN="${ETCD_BIN:-etcd}"
FAILOVER_WRITERS="${FAILOVER_WRITERS:-3}"
FAILOVER_TIMEOUT="${FAILOVER_TIMEOUT:-30}"
ETCD_HEARTBEAT_MS="${ETCD_HEARTBEAT_MS:-100}"   # etcd's defaults
ETCD_ELECTION_MS="${ETCD_ELECTION_MS:-1000}"
ETCD_PREVOTE="${ETCD_PREVOTE:-}"
SEQ_COUNT="${SEQ_COUNT:-2000}"
SEQ_SECONDS="${SEQ_SECONDS:-10}"
FSYNC_COUNT="${FSYNC_COUNT:-1000}"
STRACE="${STRACE:-1}"
STRACE_WRITES="${STRACE_WRITES:-200}"
FLAKY="${FLAKY:-1}"
FLAKY_PERIOD="${FLAKY_PERIOD:-1}"
FLAKY_REPEATS="${FLAKY_REPEATS:-$REPEATS}"
WRK_THREADS=2
WARMUP=2
START_TIMEOUT=30   # s for a cluster to elect a leader that every node knows
REJOIN_TIMEOUT=60  # s for a restarted node to catch up
FAILOVER_PACE_MS=20         # each failover writer pauses this long after each acknowledged write
FAILOVER_REQUEST_MS=250     # and gives up on a request after this long (then tries again)
TOOL=(python3 "$root/bench/store_tool.py")
export STORE_BENCH_LUA_DIR="$root/bench/lua"

ETCD_HOSTS=(127.0.4.1 127.0.4.2 127.0.4.3)
ISLA_HOSTS=(127.0.5.1 127.0.5.2 127.0.5.3)
ETCD_CLIENT_PORT=2379
ETCD_PEER_PORT=2380
ISLA_PORT=5235

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "== $*" >&2; }

# ---------------------------------------------------------------- preconditions
posint() { [[ "$2" =~ ^[0-9]+$ && "$2" -ge "$3" ]] || die "$1 must be an integer >= $3 (got '$2')"; }
posint DURATION "$DURATION" 1
posint CONNECTIONS "$CONNECTIONS" "$WRK_THREADS"
posint VALUE_SIZE "$VALUE_SIZE" 1
posint KEYS "$KEYS" 1
posint REPEATS "$REPEATS" 1
posint FAILOVER_WRITERS "$FAILOVER_WRITERS" 1
posint FAILOVER_TIMEOUT "$FAILOVER_TIMEOUT" 1
posint ETCD_HEARTBEAT_MS "$ETCD_HEARTBEAT_MS" 1
posint ETCD_ELECTION_MS "$ETCD_ELECTION_MS" $((5 * ETCD_HEARTBEAT_MS))
posint SEQ_COUNT "$SEQ_COUNT" 1
posint SEQ_SECONDS "$SEQ_SECONDS" 1
posint FSYNC_COUNT "$FSYNC_COUNT" 1
posint STRACE_WRITES "$STRACE_WRITES" 1
posint FLAKY_PERIOD "$FLAKY_PERIOD" 1
posint FLAKY_REPEATS "$FLAKY_REPEATS" 1
[[ "$STRACE" == 0 || "$STRACE" == 1 ]] || die "STRACE must be 0 or 1"
[[ "$FLAKY" == 0 || "$FLAKY" == 1 ]] || die "FLAKY must be 0 or 1"
[[ -z "$ETCD_PREVOTE" || "$ETCD_PREVOTE" == true || "$ETCD_PREVOTE" == false ]] ||
  die "ETCD_PREVOTE must be empty, true or false"
((KEYS <= 100000)) || die "KEYS must be <= 100000 (keys are k00000..k99999)"
((VALUE_SIZE <= 1048576)) || die "VALUE_SIZE must be <= 1048576"

want_etcd=0 want_isla=0
for s in $SYSTEMS; do
  case "$s" in
    etcd) want_etcd=1 ;;
    isla) want_isla=1 ;;
    *) die "SYSTEMS may only name etcd and isla (got '$s')" ;;
  esac
done
((want_etcd + want_isla > 0)) || die "SYSTEMS is empty"

for tool in wrk python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run 'make deps' (or bash scripts/deps.sh) first"
done
if ((want_etcd)); then
  command -v "$ETCD_BIN" >/dev/null 2>&1 || die "'$ETCD_BIN' not found; run 'make deps' (package etcd-server) first"
fi
if ((want_isla)); then
  [[ -x "$ISLA_BIN" ]] || die "isla binary '$ISLA_BIN' not found or not executable; run 'make build' (or set ISLA_BIN)"
  # Not `| grep -q`: grep leaves at the first match, and under pipefail the help text's
  # writer then dies of SIGPIPE and fails the check.
  [[ "$("$ISLA_BIN" gateway --help 2>/dev/null)" == *--store-voters* ]] ||
    die "'$ISLA_BIN gateway' has no --store-voters option: build a commit with the KV store (or run SYSTEMS=etcd)"
fi

if command -v ss >/dev/null 2>&1; then
  addrs=()
  ((want_etcd)) && for h in "${ETCD_HOSTS[@]}"; do addrs+=("$h:$ETCD_CLIENT_PORT" "$h:$ETCD_PEER_PORT"); done
  ((want_isla)) && for h in "${ISLA_HOSTS[@]}"; do addrs+=("$h:$ISLA_PORT"); done
  for addr in "${addrs[@]}"; do
    if ss -Hltn "src = ${addr}" 2>/dev/null | grep -q .; then
      die "something already listens on ${addr} (another benchmark still running?)"
    fi
  done
fi

# ---------------------------------------------------------------- cleanup
tmp="$(mktemp -d "${TMPDIR:-/tmp}/isla-store-bench.XXXXXX")"
declare -A NODE_PID=()   # "etcd 1" / "isla 2" -> pid of the running node
wrk_pid=""
tool_pid=""
flap_pid=""
strace_pids=()
source "$root/bench/lib/netcut.sh"
source "$root/bench/lib/ensure.sh"
export ENSURE_LOG="$tmp/apt.log"

# Nodes are disowned right after they start (so that bash neither waits for them nor reports
# "Killed" when the failover test kills one; it still reaps them). ours PID: the process is
# alive and is one of ours (its command line names our temp dir), so a recycled pid is never hit.
ours() {
  local state cmd
  state="$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null)" || return 1
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$cmd" == *"$tmp"* ]]
}

# stop_pids GRACE_S PID...: SIGTERM, wait up to the grace period, then SIGKILL.
stop_pids() {
  local grace="$1" pid deadline
  shift
  for pid in "$@"; do ours "$pid" && kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + grace))
  for pid in "$@"; do
    while ours "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if ours "$pid"; then
      echo "bench: pid $pid did not stop on SIGTERM, killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  return 0
}

cleanup() {
  local rc=$?
  set +e
  [[ -n "$wrk_pid" ]] && kill -TERM "$wrk_pid" 2>/dev/null && wait "$wrk_pid" 2>/dev/null
  [[ -n "$tool_pid" ]] && kill -TERM "$tool_pid" 2>/dev/null && wait "$tool_pid" 2>/dev/null
  [[ -n "$flap_pid" ]] && kill -TERM "$flap_pid" 2>/dev/null && wait "$flap_pid" 2>/dev/null
  local p
  for p in "${strace_pids[@]}"; do kill -INT "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  local pids=() k
  for k in "${!NODE_PID[@]}"; do [[ -n "${NODE_PID[$k]}" ]] && pids+=("${NODE_PID[$k]}"); done
  ((${#pids[@]})) && stop_pids 5 "${pids[@]}"
  netcut_teardown
  ((rc != 0)) && print_log_tails "$tmp" 15 "$tmp"/*.log
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "bench: kept $tmp (KEEP_TMP=1)" >&2; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The isla binary may be rebuilt while the benchmark runs (the failover test restarts nodes):
# run a private copy of it.
if ((want_isla)); then
  cp -p "$ISLA_BIN" "$tmp/isla-bin"
  ISLA_RUN="$tmp/isla-bin"
fi

# Optional parts and what they need: strace (installed with apt-get if missing, as root) for
# the breakdown; root, iptables (likewise) and cgroup2 for the flaky link, set up before any
# node starts since every node must run in its own cgroup from its start. STRACE_WHY and
# FLAKY_WHY say why a part is skipped (empty: it runs).
STRACE_WHY="" FLAKY_WHY=""
if ((want_isla)) && [[ "$STRACE" == 1 ]]; then
  ensure_cmd strace strace || STRACE_WHY="strace not found (and not installable here)"
elif [[ "$STRACE" == 0 ]]; then
  STRACE_WHY="STRACE=0"
else
  STRACE_WHY="no isla"
fi
if [[ "$FLAKY" == 1 ]]; then
  if ((EUID != 0)); then
    FLAKY_WHY="not root (iptables needs it)"
  elif ! ensure_cmd iptables iptables; then
    FLAKY_WHY="iptables not found (and not installable here)"
  elif ! netcut_setup "isla-bench-$$"; then
    FLAKY_WHY="$NETCUT_WHY"
  fi
else
  FLAKY_WHY="FLAKY=0"
fi
[[ -z "$FLAKY_WHY" ]] || note "flaky-link runs skipped: ${FLAKY_WHY}"
[[ -z "$STRACE_WHY" || "$STRACE_WHY" == "no isla" ]] || note "strace breakdown skipped: ${STRACE_WHY}"

# ---------------------------------------------------------------- helpers
join_by() { local IFS="$1"; shift; echo "$*"; }
etcd_nodes() { local h out=(); for h in "${ETCD_HOSTS[@]}"; do out+=("$h:$ETCD_CLIENT_PORT"); done; join_by , "${out[@]}"; }
isla_nodes() { local h out=(); for h in "${ISLA_HOSTS[@]}"; do out+=("$h:$ISLA_PORT"); done; join_by , "${out[@]}"; }
nodes_of() { "${1}_nodes"; }


# tool SYSTEM ARGS...: runs store_tool.py in the background (so a SIGTERM is handled at once).
tool() {
  local system="$1" rc=0
  shift
  local prefix_args=()
  [[ "$system" == etcd ]] && prefix_args=(--prefix "$ETCD_PREFIX")
  "${TOOL[@]}" "$system" "$(nodes_of "$system")" "${prefix_args[@]}" --value-size "$VALUE_SIZE" "$@" &
  tool_pid=$!
  wait "$tool_pid" || rc=$?
  tool_pid=""
  return "$rc"
}

cluster_alive() {
  local system="$1" n
  for n in 1 2 3; do
    local pid="${NODE_PID["$system $n"]:-}"
    [[ -n "$pid" ]] && ours "$pid" || { echo "$system node $n"; return 1; }
  done
}

ETCD_PREFIX=/v3
etcd_token="isla-bench-$$"

source "$root/bench/lib/etcd.sh"
start_etcd_node() {
  local n="$1" pre_vote=()
  [[ -n "$ETCD_PREVOTE" ]] && pre_vote=(--pre-vote="$ETCD_PREVOTE")
  etcd_member_args "$n" "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "$etcd_token"
  netcut_exec "etcd$n" env -u ETCD_BIN -u ETCD_HEARTBEAT_MS -u ETCD_ELECTION_MS -u ETCD_PREVOTE \
    -u ETCD_API_PREFIX "$ETCD_BIN" "${etcd_args[@]}" \
    --heartbeat-interval "$ETCD_HEARTBEAT_MS" --election-timeout "$ETCD_ELECTION_MS" "${pre_vote[@]}" \
    >>"$tmp/etcd$n.log" 2>&1 &
  NODE_PID["etcd $n"]=$!
  disown "$!"
}

start_isla_node() {
  local n="$1" host="${ISLA_HOSTS[$(($1 - 1))]}"
  mkdir -p "$tmp/isla$n"
  netcut_exec "isla$n" "$ISLA_RUN" gateway --listen "$host:$ISLA_PORT" --island bench --data-dir "$tmp/isla$n" \
    --store-voters "$(isla_nodes)" >>"$tmp/isla$n.log" 2>&1 &
  NODE_PID["isla $n"]=$!
  disown "$!"
}

stop_cluster() {
  local system="$1" n pids=()
  for n in 1 2 3; do
    [[ -n "${NODE_PID["$system $n"]:-}" ]] && pids+=("${NODE_PID["$system $n"]}")
    NODE_PID["$system $n"]=""
  done
  ((${#pids[@]})) && stop_pids 10 "${pids[@]}"
  return 0
}

# wait_ready SYSTEM [soft]: bounded poll until every node answers and all agree on one leader.
# On a timeout it dies, or with "soft" says so and returns 1.
LEADER=""
wait_ready() {
  local system="$1" soft="${2:-}" deadline=$((SECONDS + START_TIMEOUT)) dead
  until LEADER="$(tool "$system" ready 2>/dev/null)"; do
    dead="$(cluster_alive "$system")" || die "$system: $dead exited"
    if ((SECONDS >= deadline)); then
      [[ -n "$soft" ]] || die "$system: no leader agreed on by all three nodes after ${START_TIMEOUT}s"
      note "$system: no leader agreed on by all three nodes after ${START_TIMEOUT}s"
      return 1
    fi
    sleep 0.1
  done
}

source "$root/bench/lib/wrk.sh"
source "$root/bench/lib/store_bench.sh"

# run_wrk SYSTEM OP URL LUA [EXTRA [LABEL]]: warm-up, then the measured run. Sets
# RPS/P50/P99/ERR[SYSTEM-LABEL] (LABEL defaults to OP).
declare -A RPS P50 P99 ERR ELECTIONS
run_wrk() {
  local system="$1" op="$2" url="$3" lua="$4" extra="${5:-}" name="$1-${6:-$2}"
  local args=(-t"$WRK_THREADS" -c"$CONNECTIONS" -s "$lua" "$url" -- "$op" "$KEYS" "$VALUE_SIZE")
  [[ -n "$extra" ]] && args+=("$extra")
  note "${name}: ${op}s, warm-up ${WARMUP}s, then ${DURATION}s (-t${WRK_THREADS} -c${CONNECTIONS}) -> ${url}"
  wrk_bg "$tmp/wrk-${name}-warmup.txt" -d"${WARMUP}s" "${args[@]}"
  wrk_bg "$tmp/wrk-${name}.txt" -d"${DURATION}s" "${args[@]}"
  read_store_bench "$name" "$tmp/wrk-${name}.txt"
}

# median VALUES...: of the numeric ones; "n/a" when there are none.
median() {
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2];
                              else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A FAILOVER_ALL FAILOVER_MED FAILOVER_OK FAILOVER_RUN LEADER_OF
# failover SYSTEM KEY ROUNDS [soft]: ROUNDS times kill -9 the leader under a steady write load,
# restart it. Sets FAILOVER_ALL/MED/OK/RUN[KEY]. Without "soft" any trouble is fatal; with it
# (the flaky-link rounds) a round that cannot be started or a node that does not catch up ends
# the series early, and what was measured so far is reported.
failover() {
  local system="$1" key="$2" rounds="$3" soft="${4:-}" rep out killed ms n pid host pids=() deadline dead
  local values=() ok=0 attempts=0 trouble=""
  local hosts_var="${system^^}_HOSTS[@]"
  local hosts=("${!hosts_var}") port
  [[ "$system" == etcd ]] && port=$ETCD_CLIENT_PORT || port=$ISLA_PORT
  for ((rep = 1; rep <= rounds; )); do
    if ((attempts++ >= 2 * rounds)); then
      trouble="only ${#values[@]} of $rounds rounds could be started in $((attempts - 1)) attempts"
      break
    fi
    pids=()
    for n in 1 2 3; do pids+=("${hosts[$((n - 1))]}:$port=${NODE_PID["$system $n"]}"); done
    out="$(tool "$system" failover --pids "$(join_by , "${pids[@]}")" --writers "$FAILOVER_WRITERS" \
      --pace "0.$(printf '%03d' "$FAILOVER_PACE_MS")" --request-timeout "0.$(printf '%03d' "$FAILOVER_REQUEST_MS")" \
      --timeout "$FAILOVER_TIMEOUT" 2>"$tmp/failover-err.txt")" || true
    if [[ "$out" != '{'* ]]; then
      # Nothing was killed (e.g. the leader moved during the warm-up): try this round again.
      note "${key} failover ${rep}: not run ($(tr '\n' ' ' <"$tmp/failover-err.txt")); retrying"
      dead="$(cluster_alive "$system")" || die "$system: $dead died"
      wait_ready "$system" "$soft" || { trouble="no agreed leader before round $rep"; break; }
      continue
    fi
    read -r killed ms <<<"$(python3 -c 'import json,sys; d = json.loads(sys.argv[1]);
print(d["killed"], d["failover_ms"] if d["failover_ms"] is not None else "timeout")' "$out")"
    note "${key} failover ${rep}: ${out}"
    values+=("$ms")
    [[ "$ms" != timeout ]] && ok=$((ok + 1))
    host="${killed%:*}"
    for n in 1 2 3; do [[ "${hosts[$((n - 1))]}" == "$host" ]] && break; done
    [[ "${hosts[$((n - 1))]}" == "$host" ]] || die "$system: failover killed an unknown node '$killed'"
    pid="${NODE_PID["$system $n"]}"
    deadline=$((SECONDS + 10))
    while ours "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
    ours "$pid" && die "$system: killed node $killed (pid $pid) is still there"
    NODE_PID["$system $n"]=""
    "start_${system}_node" "$n"
    deadline=$((SECONDS + REJOIN_TIMEOUT))
    until tool "$system" rejoined --node "$killed" 2>/dev/null; do
      dead="$(cluster_alive "$system")" || die "$system: $dead died while node $n rejoined"
      if ((SECONDS >= deadline)); then
        [[ -n "$soft" ]] || die "$system: restarted node $killed did not catch up within ${REJOIN_TIMEOUT}s"
        trouble="restarted node $killed did not catch up within ${REJOIN_TIMEOUT}s after round $rep"
        break 2
      fi
      sleep 0.1
    done
    wait_ready "$system" "$soft" || { trouble="no agreed leader after round $rep"; break; }
    rep=$((rep + 1))
  done
  if [[ -n "$trouble" ]]; then
    [[ -n "$soft" ]] || die "$system: $trouble"
    note "${key} failover: $trouble"
  fi
  FAILOVER_ALL[$key]="${values[*]:-none}"
  FAILOVER_OK[$key]="$ok"
  FAILOVER_RUN[$key]="${#values[@]}"
  FAILOVER_MED[$key]="$(median "${values[@]}")"
}

# json_fields JSON KEY...: the values, space-separated ("n/a" for a missing or null one).
json_fields() {
  python3 -c 'import json, sys
d = json.loads(sys.argv[1])
print(*[("n/a" if d.get(k) is None else d[k]) for k in sys.argv[2:]])' "$@"
}

# low_load SYSTEM: the filesystem's fsync time, then one client with one request at a time
# to the leader: ping (no store work), serializable read, linearizable read, write.
declare -A SEQ_P50 SEQ_P99 SEQ_N SEQ_ERR FSYNC_P50 FSYNC_P99
SEQ_OPS=(ping sread read write)
low_load() {
  local system="$1" out op a b c d
  out="$(python3 "$root/bench/lib/fsync_probe.py" --dir "$tmp" --count "$FSYNC_COUNT" --timeout 60)" ||
    die "the fsync probe failed"
  read -r a b <<<"$(json_fields "$out" p50_ms p99_ms)"
  FSYNC_P50[$system]="$a" FSYNC_P99[$system]="$b"
  note "${system}: fsync probe (4 KiB write+fdatasync in ${tmp}): ${out}"
  for op in "${SEQ_OPS[@]}"; do
    out="$(tool "$system" seq --op "$op" --keys "$KEYS" --count "$SEQ_COUNT" --duration "$SEQ_SECONDS")" ||
      note "${system} sequential ${op}s: errors (${out:-no output})"
    if [[ "$out" == '{'* ]]; then
      read -r a b c d <<<"$(json_fields "$out" p50_ms p99_ms n errors)"
    else
      a=n/a b=n/a c=0 d=?
    fi
    SEQ_P50[$system-$op]="$a" SEQ_P99[$system-$op]="$b" SEQ_N[$system-$op]="$c" SEQ_ERR[$system-$op]="$d"
    note "${system} sequential ${op}s: ${out}"
  done
}

# strace_breakdown: isla only. strace on all three nodes (every thread) while one client writes
# STRACE_WRITES keys one at a time to the leader; bench/lib/strace_breakdown.py then lines up
# each write's syscalls (client socket, peer sockets, WAL write and fdatasync) into stages.
STRACE_SYSCALLS="fdatasync,fsync,sendto,recvfrom,writev,sendmsg,recvmsg,read,write,readv"
BREAKDOWN=""
STRACED_SEQ=""
stop_straces() {
  local p deadline=$((SECONDS + 10))
  for p in "${strace_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${strace_pids[@]}"; do
    while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null || true
  done
  strace_pids=()
}
strace_breakdown() {
  local n pid addr files=() leader deadline out
  leader="$(tool isla leader)" || { STRACE_WHY="no leader"; return 0; }
  strace_pids=()
  for n in 1 2 3; do
    pid="${NODE_PID["isla $n"]}"
    addr="${ISLA_HOSTS[$((n - 1))]}:$ISLA_PORT"
    strace -f -ttt -T -yy -s 40 -e trace="$STRACE_SYSCALLS" -o "$tmp/strace-isla$n.txt" -p "$pid" \
      2>"$tmp/strace-isla$n.err" &
    strace_pids+=("$!")
    files+=("$addr=$tmp/strace-isla$n.txt")
  done
  deadline=$((SECONDS + 10))
  for n in 1 2 3; do
    until grep -q 'attached' "$tmp/strace-isla$n.err" 2>/dev/null; do
      if ((SECONDS >= deadline)) || ! kill -0 "${strace_pids[$((n - 1))]}" 2>/dev/null; then
        STRACE_WHY="strace could not attach to isla node $n: $(head -c 300 "$tmp/strace-isla$n.err" | tr '\n' ' ')"
        stop_straces
        return 0
      fi
      sleep 0.1
    done
  done
  note "isla: ${STRACE_WRITES} sequential writes to ${leader} under strace (all three nodes)"
  STRACED_SEQ="$(tool isla seq --op write --keys "$KEYS" --count "$STRACE_WRITES" --duration 60 --warmup 20 \
    --times "$tmp/strace-client.txt")" || STRACE_WHY="the traced writes failed: ${STRACED_SEQ}"
  stop_straces
  [[ -z "$STRACE_WHY" ]] || return 0
  note "isla: traced writes: ${STRACED_SEQ}"
  if ! BREAKDOWN="$(python3 "$root/bench/lib/strace_breakdown.py" --leader "$leader" \
    --client "$tmp/strace-client.txt" --append-bytes "$VALUE_SIZE" "${files[@]}" 2>"$tmp/breakdown-err.txt")"; then
    STRACE_WHY="the analysis failed: $(head -c 300 "$tmp/breakdown-err.txt")"
    BREAKDOWN=""
  fi
}

# start_flapper SYSTEM FOLLOWER SECONDS OUTFILE / stop_flapper: store_tool.py flap in the
# background (cuts and restores FOLLOWER <-> leader every FLAKY_PERIOD s, for at most SECONDS).
flap_out=""
start_flapper() {
  local system="$1" follower="$2" seconds="$3" n cgs=() port prefix_args=()
  local hosts_var="${system^^}_HOSTS[@]"
  local hosts=("${!hosts_var}")
  flap_out="$4"
  if [[ "$system" == etcd ]]; then port=$ETCD_CLIENT_PORT prefix_args=(--prefix "$ETCD_PREFIX"); else port=$ISLA_PORT; fi
  for n in 1 2 3; do cgs+=("${hosts[$((n - 1))]}:$port=$(netcut_path "$system$n")"); done
  "${TOOL[@]}" "$system" "$(nodes_of "$system")" "${prefix_args[@]}" flap --chain "$NETCUT_CHAIN" \
    --cgroups "$(join_by , "${cgs[@]}")" --follower "$follower" --period "$FLAKY_PERIOD" \
    --duration "$seconds" >"$flap_out" 2>"$flap_out.err" &
  flap_pid=$!
  # The load starts once the first cut is in place (bounded: a cut needs an agreed leader).
  local deadline=$((SECONDS + 15))
  until grep -q ' cut ' "$flap_out.err" 2>/dev/null; do
    kill -0 "$flap_pid" 2>/dev/null || break
    ((SECONDS < deadline)) || { note "flapper: no cut after 15s; going on"; break; }
    sleep 0.05
  done
}
stop_flapper() {
  [[ -n "$flap_pid" ]] || return 0
  kill -TERM "$flap_pid" 2>/dev/null || true
  wait "$flap_pid" 2>/dev/null || note "flapper: exit status $? ($(grep -v '^flap ' "$flap_out.err" | tr '\n' ' '))"
  flap_pid=""
  note "flapper: $(cat "$flap_out")"
}

# flaky SYSTEM LUA EXTRA: the write run and failover rounds under a flaky follower link.
declare -A FLAKY_NOTE FLAKY_CUTS FLAKY_LAG
flaky() {
  local system="$1" lua="$2" extra="$3" follower="" n addr term_before term_after port
  local hosts_var="${system^^}_HOSTS[@]"
  local hosts=("${!hosts_var}")
  [[ "$system" == etcd ]] && port=$ETCD_CLIENT_PORT || port=$ISLA_PORT
  wait_ready "$system" soft || { FLAKY_NOTE[$system]="no agreed leader before the flaky runs"; return 0; }
  # The follower whose link flaps: the highest-numbered node that does not lead.
  for n in 3 2 1; do
    addr="${hosts[$((n - 1))]}:$port"
    [[ "$addr" != "$LEADER" ]] && { follower="$addr"; break; }
  done
  FLAKY_NOTE[$system]="follower ${follower}, leader ${LEADER} at the start"
  note "${system}: flaky link ${follower} <-> leader (${LEADER} now), cut and restored every ${FLAKY_PERIOD}s"
  term_before="$(tool "$system" term)" || term_before=""
  start_flapper "$system" "$follower" $((WARMUP + DURATION + 5)) "$tmp/flap-$system-write.json"
  run_wrk "$system" write "http://${LEADER}" "$lua" "$extra" flaky-write
  stop_flapper
  read -r FLAKY_CUTS[$system] FLAKY_LAG[$system] <<<"$(json_fields "$(cat "$flap_out")" cuts lag_at_restore_median \
    2>/dev/null || echo '? ?')"
  term_after="$(tool "$system" term)" || term_after=""
  if [[ -n "$term_before" && -n "$term_after" ]]; then
    ELECTIONS[$system-flaky]=$((term_after - term_before))
  else
    ELECTIONS[$system-flaky]="?"
  fi
  wait_ready "$system" soft || { FLAKY_NOTE[$system]+="; no agreed leader after the flaky writes"; return 0; }
  note "${system}: failover under the flaky link, ${FLAKY_REPEATS} runs"
  start_flapper "$system" "$follower" 900 "$tmp/flap-$system-failover.json"
  failover "$system" "$system-flaky" "$FLAKY_REPEATS" soft
  stop_flapper
}

# bench_system SYSTEM
bench_system() {
  local system="$1" n lua url extra=""
  note "${system}: starting 3 nodes"
  for n in 1 2 3; do "start_${system}_node" "$n"; done
  if [[ "$system" == etcd ]]; then
    # Which JSON gateway prefix this etcd serves (3.4: /v3 and /v3beta; 3.3: /v3beta).
    local deadline=$((SECONDS + START_TIMEOUT)) dead
    until ETCD_PREFIX="$("${TOOL[@]}" etcd "$(etcd_nodes)" probe 2>/dev/null)"; do
      dead="$(cluster_alive etcd)" || die "etcd: $dead exited during start-up"
      ((SECONDS < deadline)) || die "etcd: JSON gateway (/v3 or /v3beta) not answering after ${START_TIMEOUT}s"
      sleep 0.1
    done
    extra="$ETCD_PREFIX"
  fi
  wait_ready "$system"
  note "${system}: leader ${LEADER}"
  tool "$system" check >&2
  tool "$system" fill --keys "$KEYS" >&2
  note "${system}: low load, one client, one request at a time"
  low_load "$system"
  if [[ "$system" == isla && -z "$STRACE_WHY" ]]; then strace_breakdown; fi
  LEADER="$(tool "$system" leader)" || die "$system: no leader after the fill"
  LEADER_OF[$system]="$LEADER"
  lua="$root/bench/lua/${system}.lua"
  url="http://${LEADER}"
  local term_before
  term_before="$(tool "$system" term)" || term_before=""
  run_wrk "$system" write "$url" "$lua" "$extra"
  # Reads go to whoever leads now (normally the same node).
  LEADER="$(tool "$system" leader)" || die "$system: no leader after the write run"
  [[ "$LEADER" == "${LEADER_OF[$system]}" ]] || LEADER_OF[$system]+=" then $LEADER"
  run_wrk "$system" read "http://${LEADER}" "$lua" "$extra"
  # Elections while wrk and three nodes saturate both cores: Raft's term grows with each.
  local term_after
  term_after="$(tool "$system" term)" || term_after=""
  if [[ -n "$term_before" && -n "$term_after" ]]; then
    ELECTIONS[$system]=$((term_after - term_before))
  else
    ELECTIONS[$system]="?"
  fi
  note "${system}: failover, ${REPEATS} runs"
  failover "$system" "$system" "$REPEATS"
  [[ -z "$FLAKY_WHY" ]] && flaky "$system" "$lua" "$extra"
  note "${system}: stopping"
  stop_cluster "$system"
}

# ---------------------------------------------------------------- run
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
# In SYSTEMS' order, each once (not "... && bench_system": errexit would be off inside it).
declare -A done_system=()
for s in $SYSTEMS; do
  if [[ -z "${done_system[$s]:-}" ]]; then bench_system "$s"; done_system[$s]=1; fi
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- report
cpu_model="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
fs="$(df -PT "${TMPDIR:-/tmp}" 2>/dev/null | awk 'NR == 2 { print $2 }')"

echo
echo "isla store vs etcd — ${started}"
echo "machine : nproc=$(nproc), ${cpu_model:-unknown CPU}, kernel $(uname -r), data dirs on ${fs:-?} (${TMPDIR:-/tmp})"
echo "load avg: ${load_before} before, ${load_after} after (1/5/15 min; anything near nproc means a noisy result)"
((want_etcd)) && echo "etcd    : $("$ETCD_BIN" --version 2>/dev/null | awk '/^etcd Version/ { print $3 }'), 127.0.4.1-3, JSON gateway ${ETCD_PREFIX}, heartbeat ${ETCD_HEARTBEAT_MS} ms, election timeout ${ETCD_ELECTION_MS} ms (defaults: 100, 1000)"
((want_isla)) && echo "isla    : checkout ${commit}, binary ${ISLA_BIN} (built $(date -u -r "$ISLA_RUN" '+%H:%M UTC' 2>/dev/null || echo '?')), 127.0.5.1-3:${ISLA_PORT}, defaults"
echo "load    : wrk -t${WRK_THREADS} -c${CONNECTIONS} -d${DURATION}s (after ${WARMUP}s warm-up), ${KEYS} keys at random, ${VALUE_SIZE}-byte values, all to the leader"
echo "          writes: etcd POST ${ETCD_PREFIX}/kv/put, isla PUT /api/kv/{key}; reads (linearizable): etcd POST ${ETCD_PREFIX}/kv/range, isla GET /api/kv/{key}"
echo "failover: ${FAILOVER_WRITERS} sequential writers per node (every node), ${FAILOVER_PACE_MS} ms pause between writes, ${FAILOVER_REQUEST_MS} ms request timeout;"
echo "          from the kill on, also one fresh write every 10 ms (round robin over the survivors, 1 s timeout);"
echo "          kill -9 of the leader -> first acknowledged write sent after the kill, on a surviving node; median of ${REPEATS}"
echo
printf '%-6s %-20s %10s %8s %8s %10s %8s %8s %7s %12s\n' system leader writes/s "w p50" "w p99" reads/s "r p50" "r p99" errors "failover"
printf '%-6s %-20s %10s %8s %8s %10s %8s %8s %7s %12s\n' "" "" "" ms ms "" ms ms "" "median ms"
for s in etcd isla; do
  want="want_$s"; ((${!want})) || continue
  printf '%-6s %-20s %10.0f %8.2f %8.2f %10.0f %8.2f %8.2f %7d %12s\n' "$s" "${LEADER_OF[$s]}" \
    "${RPS[$s-write]}" "${P50[$s-write]}" "${P99[$s-write]}" "${RPS[$s-read]}" "${P50[$s-read]}" \
    "${P99[$s-read]}" $((ERR[$s-write] + ERR[$s-read])) "${FAILOVER_MED[$s]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
if ((want_etcd && want_isla)); then
  printf '%-27s %10s %8s %8s %10s %8s %8s %7s %12s\n' "isla/etcd" \
    "$(ratio "${RPS[isla-write]}" "${RPS[etcd-write]}")" "$(ratio "${P50[isla-write]}" "${P50[etcd-write]}")" \
    "$(ratio "${P99[isla-write]}" "${P99[etcd-write]}")" "$(ratio "${RPS[isla-read]}" "${RPS[etcd-read]}")" \
    "$(ratio "${P50[isla-read]}" "${P50[etcd-read]}")" "$(ratio "${P99[isla-read]}" "${P99[etcd-read]}")" "" \
    "$(ratio "${FAILOVER_MED[isla]}" "${FAILOVER_MED[etcd]}")"
  echo "(ratios: higher is better for writes/s and reads/s, lower is better for latencies and failover)"
fi
echo
for s in etcd isla; do
  want="want_$s"; ((${!want})) || continue
  echo "${s} failover runs (ms): ${FAILOVER_ALL[$s]}  (${FAILOVER_OK[$s]} of ${REPEATS} recovered within ${FAILOVER_TIMEOUT}s)"
done
for s in etcd isla; do
  want="want_$s"; ((${!want})) || continue
  echo "${s} elections during the write and read load (term changes, CPU saturated): ${ELECTIONS[$s]}"
done
# ---- low load
echo
echo "low load: one client, one request at a time on one keep-alive connection, to the leader: ${SEQ_COUNT} requests"
echo "          or ${SEQ_SECONDS}s, whichever first, after 100 unmeasured (store_tool.py seq); ${VALUE_SIZE}-byte values, keys in turn;"
echo "          ping = isla GET /healthz, etcd GET /version (no store work); sread = serializable read; read = linearizable;"
echo "          fsync = ${FSYNC_COUNT} x (os.write of 4 KiB + os.fdatasync) appended to a file beside the data dirs, just before"
printf '%-10s %9s %9s %9s %9s %9s %9s %9s %9s\n' system "write p50" "write p99" "fsync p50" "fsync p99" "ping p50" "sread p50" "read p50" "read p99"
for s in etcd isla; do
  want="want_$s"; ((${!want})) || continue
  printf '%-10s %9s %9s %9s %9s %9s %9s %9s %9s\n' "$s (ms)" "${SEQ_P50[$s-write]}" "${SEQ_P99[$s-write]}" \
    "${FSYNC_P50[$s]}" "${FSYNC_P99[$s]}" "${SEQ_P50[$s-ping]}" "${SEQ_P50[$s-sread]}" "${SEQ_P50[$s-read]}" "${SEQ_P99[$s-read]}"
done
if ((want_etcd && want_isla)); then
  printf '%-10s %9s %9s %9s %9s %9s %9s %9s %9s\n' "isla/etcd" \
    "$(ratio "${SEQ_P50[isla-write]}" "${SEQ_P50[etcd-write]}")" "$(ratio "${SEQ_P99[isla-write]}" "${SEQ_P99[etcd-write]}")" \
    "" "" "$(ratio "${SEQ_P50[isla-ping]}" "${SEQ_P50[etcd-ping]}")" "$(ratio "${SEQ_P50[isla-sread]}" "${SEQ_P50[etcd-sread]}")" \
    "$(ratio "${SEQ_P50[isla-read]}" "${SEQ_P50[etcd-read]}")" "$(ratio "${SEQ_P99[isla-read]}" "${SEQ_P99[etcd-read]}")"
fi
for s in etcd isla; do
  want="want_$s"; ((${!want})) || continue
  line=""
  for op in "${SEQ_OPS[@]}"; do line+=" ${op} ${SEQ_N[$s-$op]}/${SEQ_ERR[$s-$op]}"; done
  echo "${s} requests measured/failed:${line}"
done
if ((want_isla)); then
  goal() { awk -v v="$1" -v g="$2" 'BEGIN { if (v !~ /^[0-9.]+$/) print "n/a"; else if (v <= g) print "met"; else print "not met" }'; }
  echo "goal (reported, not asserted): isla sequential write p50 <= 1.0 ms: $(goal "${SEQ_P50[isla-write]}" 1.0)" \
    "(${SEQ_P50[isla-write]} ms); p99 <= 3 ms: $(goal "${SEQ_P99[isla-write]}" 3.0) (${SEQ_P99[isla-write]} ms)"
  echo
  if [[ -n "$STRACE_WHY" ]]; then
    echo "isla write breakdown (strace): skipped: ${STRACE_WHY}"
  else
    echo "isla write breakdown: ${STRACE_WRITES} sequential writes with strace -f on all three nodes (which slows them:"
    echo "the traced writes took p50 $(json_fields "$STRACED_SEQ" p50_ms) ms against ${SEQ_P50[isla-write]} ms untraced; read the shares, not the sums)"
    printf '%s\n' "$BREAKDOWN"
  fi
fi

# ---- flaky link
echo
if [[ -n "$FLAKY_WHY" ]]; then
  echo "flaky link: skipped: ${FLAKY_WHY}"
else
  echo "flaky link: the link between the leader and one follower cut (iptables REJECT --reject-with tcp-reset on that"
  echo "            pair's sockets, both ways) and restored every ${FLAKY_PERIOD}s, following the leader; writes as above"
  echo "            (wrk -t${WRK_THREADS} -c${CONNECTIONS} -d${DURATION}s to the leader), then ${FLAKY_REPEATS} failover rounds as above"
  echo "            (lag: entries the follower was behind the leader as each cut ended, median: the cut bites)"
  printf '%-10s %10s %8s %8s %7s %9s %5s %7s %12s %7s\n' system writes/s "w p50" "w p99" errors elections cuts lag "failover" rounds
  printf '%-10s %10s %8s %8s %7s %9s %5s %7s %12s %7s\n' "" "" ms ms "" "" "" "" "median ms" "ok/run"
  for s in etcd isla; do
    want="want_$s"; ((${!want})) || continue
    if [[ -z "${RPS[$s-flaky-write]:-}" ]]; then
      echo "${s}: not run (${FLAKY_NOTE[$s]:-?})"
      continue
    fi
    printf '%-10s %10.0f %8.2f %8.2f %7d %9s %5s %7s %12s %7s\n' "$s" "${RPS[$s-flaky-write]}" "${P50[$s-flaky-write]}" \
      "${P99[$s-flaky-write]}" "${ERR[$s-flaky-write]}" "${ELECTIONS[$s-flaky]}" "${FLAKY_CUTS[$s]}" "${FLAKY_LAG[$s]}" \
      "${FAILOVER_MED[$s-flaky]:-n/a}" "${FAILOVER_OK[$s-flaky]:-0}/${FAILOVER_RUN[$s-flaky]:-0}"
  done
  if ((want_etcd && want_isla)); then
    printf '%-10s %10s %8s %8s %7s %9s %5s %7s %12s\n' "isla/etcd" \
      "$(ratio "${RPS[isla-flaky-write]:-}" "${RPS[etcd-flaky-write]:-}")" \
      "$(ratio "${P50[isla-flaky-write]:-}" "${P50[etcd-flaky-write]:-}")" \
      "$(ratio "${P99[isla-flaky-write]:-}" "${P99[etcd-flaky-write]:-}")" "" "" "" "" \
      "$(ratio "${FAILOVER_MED[isla-flaky]:-}" "${FAILOVER_MED[etcd-flaky]:-}")"
  fi
  for s in etcd isla; do
    want="want_$s"; ((${!want})) || continue
    [[ -n "${RPS[$s-flaky-write]:-}" ]] || continue
    echo "${s} under the flaky link: ${FLAKY_NOTE[$s]}; failover runs (ms): ${FAILOVER_ALL[$s-flaky]:-none}"
  done
fi
for s in etcd isla; do
  want="want_$s"; ((${!want})) || continue
  if ((ERR[$s-write] + ERR[$s-read] > 0)); then
    echo "warning: ${s}: ${ERR[$s-write]} write and ${ERR[$s-read]} read requests failed (non-2xx or socket errors)" >&2
  fi
done
