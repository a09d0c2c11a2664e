#!/usr/bin/env bash
# Issue 11: how fast the island's gateways see a crashed gateway dead, and how often they
# declare a live one dead, at 0, 5 and 10 % datagram loss, with isla's failure detector
# defaults beside hashicorp/memberlist's (the reference line).
#
# A 5-gateway island (gateways only, all five the store's voters, one island secret), each
# gateway a host of the multi-host test bed (scripts/testbed/testbed.sh, docs/testbed.md), so
# that loss is applied per host with the iptables statistic match, to UDP only (the failure
# detector's datagrams; the bench's own HTTP polling is TCP). Every host drops each datagram
# with probability 1 - sqrt(1 - LOSS) on the way out and again on the way in, so a datagram
# between two gateways is lost with probability LOSS, as in bench/swim_sim.
# Without a bed (not root, no namespaces) the gateways run on 127.0.11.1-5 instead, and only
# the 0 % rows are measured.
#
# For each config (CONFIGS) a fresh island; then for each loss level (LOSSES):
#   (a) false positives: DURATION s with every gateway alive; the member_died events (every
#       one is a false death) and member_suspected events each gateway recorded itself;
#   (b) detection, KILLS times: after a calm gap (KILL_GAP, see kill_gap below) and a random
#       0-1 s, kill -9 a random gateway; the time from the kill until EVERY survivor holds it
#       dead: the latest survivor's member_died event about it (its wall_ms; one machine, one
#       clock) minus the kill's time. Then it is restarted (same data dir) and the bench waits
#       until everyone sees everyone alive again.
# Configs:  isla        the defaults: probe every 100 ms, probe timeout 30 ms, suspicion x3
#           memberlist  --probe-interval-ms 1000 --probe-timeout-ms 500 --suspicion-multiplier 4
#                       (memberlist's DefaultLANConfig; its suspicion max multiplier of 6 has no
#                       flag: isla's 2 is used, which counts only while fewer than 2 others
#                       have confirmed the suspicion)
# Goal (reported, not asserted): detection p99 <= 1 s, no false death in 60 s at 10 % loss.
#
# Knobs (environment): DURATION (s of (a), default 60; 10 for a quick run), KILLS (10),
# LOSSES ("0 5 10", %), CONFIGS ("isla memberlist"), KILL_GAP (s of calm before each kill;
# default 30 probe intervals: 3 for isla, 30 for memberlist; 0: back to back),
# DETECT_TIMEOUT (s, 60), TESTBED (auto: the bed when it can be made; off: loopback),
# ISLA_BIN (build/isla), KEEP_TMP (1 keeps the gateways' logs).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source "$root/bench/lib/log_tails.sh"

DURATION="${DURATION:-60}"
KILLS="${KILLS:-10}"
LOSSES="${LOSSES:-0 5 10}"
CONFIGS="${CONFIGS:-isla memberlist}"
DETECT_TIMEOUT="${DETECT_TIMEOUT:-60}"
KILL_GAP="${KILL_GAP:-}"
TESTBED="${TESTBED:-auto}"
ISLA_BIN="$(realpath -m "${ISLA_BIN:-build/isla}")"
KEEP_TMP="${KEEP_TMP:-0}"
NODES=5
PORT=5235
CONVERGE_TIMEOUT=60  # s for an island (or a restarted gateway) to be seen alive by everyone
LOOPBACK_PREFIX=127.0.11
WATCH="$root/bench/lib/swim_watch.py"

note() { echo "failure_detection: $*" >&2; }
die() {
  note "$*"
  exit 1
}
source "$root/bench/lib/proxy_bench.sh"
source "$root/bench/lib/quiet.sh"
source "$root/bench/lib/bed.sh"

config_flags() {
  case "$1" in
    isla) ;;
    memberlist) echo "--probe-interval-ms 1000 --probe-timeout-ms 500 --suspicion-multiplier 4" ;;
    *) die "unknown config '$1' (isla or memberlist)" ;;
  esac
}

# kill_gap CONFIG: seconds of calm before each kill. Probing a dead gateway raises the
# survivors' local health score (Lifeguard), which stretches their probe interval up to 9x and
# comes down by one per successful probe; 30 intervals let it settle, so that each kill meets
# a healthy island (as every crash of bench/swim_sim does) rather than one still slowed by the
# previous kill. KILL_GAP=0 measures back-to-back kills instead.
kill_gap() {
  if [[ -n "$KILL_GAP" ]]; then
    echo "$KILL_GAP"
  elif [[ "$1" == memberlist ]]; then
    echo 30
  else
    echo 3
  fi
}

# ---------------------------------------------------------------- preconditions
[[ -x "$ISLA_BIN" ]] || die "isla binary '$ISLA_BIN' not found; run 'make build' (or set ISLA_BIN)"
command -v python3 >/dev/null 2>&1 || die "'python3' not found; run 'make deps' first"
# The interpreter itself: a pyenv shim would cost ~100 ms per call inside the polling loops.
PYTHON="$(python3 -c 'import sys; print(sys.executable)')"
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -gt 0 ]] || die "DURATION must be a positive integer"
[[ "$KILLS" =~ ^[0-9]+$ ]] || die "KILLS must be a whole number"
[[ -z "$KILL_GAP" || "$KILL_GAP" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "KILL_GAP must be seconds"
for config in $CONFIGS; do config_flags "$config" >/dev/null; done
for loss in $LOSSES; do
  if ! [[ "$loss" =~ ^[0-9]+(\.[0-9]+)?$ ]] || ! awk -v p="$loss" 'BEGIN { exit !(p < 100) }'; then
    die "LOSSES: '$loss' is not a percentage below 100"
  fi
done

# ---------------------------------------------------------------- cleanup
tmp="$(mktemp -d "${TMPDIR:-/tmp}/isla-fd.XXXXXX")"
chmod 755 "$tmp"
bed=""
declare -a gw_pid=()

cleanup() {
  local rc=$? pids=() pid
  set +e
  for pid in "${gw_pid[@]}"; do [[ -n "$pid" ]] && pids+=("$pid"); done
  ((${#pids[@]})) && stop_pids "${pids[@]}"
  [[ -n "$bed" ]] && "$TESTBED_SH" down --name "$bed" >/dev/null
  ((rc != 0)) && print_log_tails "$tmp" 10 "$tmp"/*/gw*.log
  if [[ "$KEEP_TMP" == 1 ]]; then note "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the hosts
# ips[i] is gateway i's address, hosts[i] its host of the bed.
declare -a ips=() hosts=()
mode=loopback
if [[ "$TESTBED" != off ]] && "$TESTBED_SH" check >/dev/null 2>&1; then
  mode=bed
  bed="fd$$"
  "$TESTBED_SH" up --name "$bed" --islands 1 --hosts-per-island "$NODES" --owner-pid $$ \
    >"$tmp/bed.env" || die "testbed.sh up failed"
  for ((i = 0; i < NODES; i++)); do
    hosts[i]="a$((i + 1))"
    ips[i]="$(bed_ip "$tmp/bed.env" "${hosts[i]}")"
  done
else
  why="$("$TESTBED_SH" check 2>&1 || true)"
  [[ "$TESTBED" == off ]] && why="TESTBED=off"
  note "no test bed (${why}): gateways on ${LOOPBACK_PREFIX}.1-${NODES}, the loss rows are skipped"
  for ((i = 0; i < NODES; i++)); do ips[i]="${LOOPBACK_PREFIX}.$((i + 1))"; done
  if command -v ss >/dev/null 2>&1; then
    for ip in "${ips[@]}"; do
      ! ss -Hltn "src = ${ip}:${PORT}" 2>/dev/null | grep -q . ||
        die "something already listens on ${ip}:${PORT} (another benchmark still running?)"
    done
  fi
fi

# in_host I: sets in_host_cmd to the prefix that runs a command where gateway I runs (its host
# of the bed, or here). A prefix rather than a function, so that `$!` of a command started in
# the background with it is the command's own pid (testbed.sh exec and ip netns exec exec).
in_host() {
  bed_cmd "$bed" "${hosts[$1]}"
  in_host_cmd=("${BED_CMD[@]}")
}

addr() { echo "${ips[$1]}:${PORT}"; }
all_addrs() {
  local i out=()
  for ((i = 0; i < NODES; i++)); do out+=("$(addr "$i")"); done
  (IFS=,; echo "${out[*]}")
}
# swim_watch FROM_NODE SUBCOMMAND ARGS...: bench/lib/swim_watch.py from gateway FROM_NODE's
# host (the root namespace has no route to a bed).
swim_watch() {
  in_host "$1"
  shift
  "${in_host_cmd[@]}" "$PYTHON" "$WATCH" "$@"
}

# ---------------------------------------------------------------- the island
secret="$tmp/island.secret"
"$ISLA_BIN" secret init --out "$secret" >"$tmp/secret.log" 2>&1 ||
  { cat "$tmp/secret.log" >&2; die "isla secret init failed"; }

# start_gateway CONFIG I: gateway I of CONFIG's island, in the background; its pid is the
# gateway's own (testbed.sh exec and ip netns exec both exec).
start_gateway() {
  local config=$1 i=$2 dir="$tmp/$1"
  mkdir -p "$dir/gw$i"
  in_host "$i"
  # shellcheck disable=SC2046 # the config's flags are words
  "${in_host_cmd[@]}" "$ISLA_BIN" gateway --listen "$(addr "$i")" --island fd --threads 1 \
    --store-voters "$(all_addrs)" --secret-file "$secret" --data-dir "$dir/gw$i" \
    $(config_flags "$config") >>"$dir/gw$i.log" 2>&1 &
  gw_pid[i]=$!
}

# converged FROM_NODE: every gateway sees every other one alive.
converged() {
  swim_watch "$1" converged --nodes "$(all_addrs)" --timeout "$CONVERGE_TIMEOUT" ||
    die "the island did not converge within ${CONVERGE_TIMEOUT}s"
}

# set_loss PERCENT: each datagram between two gateways lost with that probability.
set_loss() {
  local per_host i
  per_host="$(awk -v p="$1" 'BEGIN { printf "%.4f", (1 - sqrt(1 - p / 100)) * 100 }')"
  for ((i = 0; i < NODES; i++)); do
    "$TESTBED_SH" loss --name "$bed" "${hosts[i]}" "$per_host" --udp-only
  done
}

# percentile P SORTED_VALUES...: nearest rank, as bench/swim_sim does.
percentile() {
  local p=$1
  shift
  (($#)) || { echo "-"; return; }
  awk -v p="$p" 'BEGIN { n = ARGC - 1; r = int(p * (n - 1) + 0.5) + 1; printf "%d", ARGV[r] }' "$@"
}

declare -a rows=()
declare -A p50_of=()

# measure CONFIG LOSS: (a) and (b) on the running island; appends a row.
measure() {
  local config=$1 loss=$2 mark deaths suspicions k victim from killed ms missed=0 times=()
  note "$config, ${loss}% loss: ${DURATION}s with everyone alive"
  mark="$(swim_watch 0 mark --nodes "$(all_addrs)")"
  sleep "$DURATION"
  read -r deaths suspicions <<<"$(swim_watch 0 count --nodes "$(all_addrs)" --mark "$mark")"
  for ((k = 1; k <= KILLS; k++)); do
    victim=$((RANDOM % NODES))
    from=$(((victim + 1) % NODES))
    local survivors=() i
    for ((i = 0; i < NODES; i++)); do ((i == victim)) || survivors+=("$(addr "$i")"); done
    sleep "$(kill_gap "$config")"
    sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", r % 1000 / 1000 }')"  # a random phase
    killed="$(now_ms)"
    kill -KILL "${gw_pid[victim]}"
    wait "${gw_pid[victim]}" 2>/dev/null || true
    gw_pid[victim]=""
    ms="$(swim_watch "$from" detect --nodes "$(IFS=,; echo "${survivors[*]}")" \
      --victim "$(addr "$victim")" --killed-ms "$killed" --timeout "$DETECT_TIMEOUT")"
    if [[ "$ms" == missed ]]; then
      missed=$((missed + 1))
      note "  kill $k: $(addr "$victim") not seen dead by everyone within ${DETECT_TIMEOUT}s"
    else
      times+=("$ms")
      note "  kill $k: $(addr "$victim") dead everywhere after ${ms} ms"
    fi
    start_gateway "$config" "$victim"
    converged "$from"
  done
  mapfile -t times < <(printf '%s\n' "${times[@]}" | sort -n | sed '/^$/d')
  local p50 p99 max
  p50="$(percentile 0.50 "${times[@]}")"
  p99="$(percentile 0.99 "${times[@]}")"
  max="$( ((${#times[@]})) && echo "${times[-1]}" || echo -)"
  p50_of["$config/$loss"]="$p50"
  rows+=("$(printf '%-10s %5s%% | %8s %8s %8s %6s | %11s %10s %9s' "$config" "$loss" \
    "$p50" "$p99" "$max" "$missed" "$deaths" "$suspicions" \
    "$(awk -v s="$suspicions" -v d="$DURATION" 'BEGIN { printf "%.1f", s * 60 / d }')")")
}

stop_island() {
  local pids=() i
  for ((i = 0; i < NODES; i++)); do [[ -n "${gw_pid[i]:-}" ]] && pids+=("${gw_pid[i]}"); done
  stop_pids "${pids[@]}"
  gw_pid=()
}

# ---------------------------------------------------------------- run
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started=$SECONDS
for config in $CONFIGS; do
  wait_for_quiet
  note "$config: starting 5 gateways ($mode) $(config_flags "$config")"
  for ((i = 0; i < NODES; i++)); do start_gateway "$config" "$i"; done
  converged 0
  for loss in $LOSSES; do
    if [[ "$mode" == loopback ]] && awk -v p="$loss" 'BEGIN { exit !(p > 0) }'; then
      rows+=("$(printf '%-10s %5s%% | skipped: no test bed to drop packets in' "$config" "$loss")")
      continue
    fi
    [[ "$mode" == bed ]] && set_loss "$loss"
    # Settle: suspicions raised as the loss starts belong to no row.
    sleep 2
    converged 0
    measure "$config" "$loss"
  done
  [[ "$mode" == bed ]] && set_loss 0
  stop_island
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- report
cpu_model="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
echo "failure detection, 5-gateway island — $(date -u '+%Y-%m-%d %H:%M UTC'), $((SECONDS - started)) s"
echo "machine : nproc=$(nproc), ${cpu_model:-unknown CPU}, kernel $(uname -r)"
echo "load avg: ${load_before} before, ${load_after} after (1/5/15 min)"
echo "isla    : commit ${commit}, ${ISLA_BIN}, --threads 1 per gateway"
if [[ "$mode" == bed ]]; then
  echo "network : test bed ${bed}, a host (netns) per gateway; loss = per-datagram UDP loss"
else
  echo "network : loopback ${LOOPBACK_PREFIX}.1-${NODES} (no test bed: loss rows skipped)"
fi
echo "per row : ${DURATION} s all alive (false deaths, suspicions), then ${KILLS} x kill -9,"
echo "          each after $(for c in $CONFIGS; do printf '%s %s s, ' "$c" "$(kill_gap "$c")"; done)of calm and a random 0-1 s"
echo
printf '%-10s %6s | %8s %8s %8s %6s | %11s %10s %9s\n' config loss "p50 ms" "p99 ms" "max ms" \
  missed "false dead" suspicions "susp/min"
for row in "${rows[@]}"; do echo "$row"; done
echo
for loss in $LOSSES; do
  a="${p50_of[memberlist/$loss]:-}" b="${p50_of[isla/$loss]:-}"
  [[ -n "$a" && -n "$b" && "$a" != - && "$b" != - && "$b" -gt 0 ]] || continue
  echo "p50 memberlist/isla at ${loss}% loss: $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", a / b }')"
done
echo
echo "detection: kill -9 until every survivor recorded member_died (its wall_ms). missed: not"
echo "seen dead by everyone within ${DETECT_TIMEOUT}s. false dead, suspicions:"
echo "member_died / member_suspected events the 5 gateways recorded in the all-alive window."
echo "goal (issue 11, not asserted): isla p99 <= 1000 ms; 0 false dead at 10% loss."
