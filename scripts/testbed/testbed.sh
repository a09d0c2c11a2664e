#!/usr/bin/env bash
# isla's multi-host test bed: hosts as network namespaces on one machine, one subnet (a Linux
# bridge) per island, a router namespace joining the islands, and helpers that kill a host,
# partition it with iptables and drop a share of its packets. Everything lives inside
# namespaces the bed creates: no interface, route or iptables rule is added to the root
# namespace, so nothing leaks into the machine's network and the loopback chaos tests
# (tests/chaos/link_cut.cpp) and this bed never see each other's rules. See docs/testbed.md.
set -euo pipefail

readonly STATE_DIR="${ISLA_TESTBED_STATE_DIR:-/run/isla-testbed}"
readonly LOCK_FILE="$STATE_DIR/lock"
# Island subnets are 10.77.K.0/24, K allocated under the lock, so two beds never share one.
readonly NET_PREFIX="10.77"
readonly FIRST_SUBNET=1 LAST_SUBNET=250
readonly ROUTER_OCTET=254
readonly ISLAND_LETTERS="abcdefghijklmnopqrstuvwxyz"
readonly MAX_HOSTS_PER_ISLAND=250
readonly SKIP_CODE=77  # what `check` exits with where no bed can be made: CTest's skip code
# iptables chains inside each host namespace; partition, heal and loss replace their rules.
readonly PARTITION_IN=ISLA-PARTITION-IN PARTITION_OUT=ISLA-PARTITION-OUT
readonly LOSS_IN=ISLA-LOSS-IN LOSS_OUT=ISLA-LOSS-OUT

usage() {
  cat <<'EOF'
usage: testbed.sh COMMAND [ARGS]

  check                                     exit 0 if a bed can be made here, else say why, exit 77
  up --name TB [--islands N] [--hosts-per-island M] [--owner-pid PID]
                                            create bed TB (default 2 islands x 3 hosts); hosts are
                                            TB-a1..TB-aM, TB-b1..; router TB-r. Beds whose owner
                                            process is gone are removed first. PID defaults to the
                                            caller; 0 keeps the bed until `down`
  down --name TB                            remove everything of TB (also after a partial up)
  show --name TB                            print TB's state (KEY=VALUE lines)
  list                                      list beds with their owner and whether it lives
  gc                                        remove every bed whose owner process is gone
  keep --name TB                            detach TB from its owner: kept until `down`
  exec --name TB HOST -- CMD [ARG...]       run CMD inside HOST's namespace
  kill --name TB HOST [SIGNAL]              signal (default KILL) every process in HOST
  partition --name TB HOST... [--from PEER...]
                                            without --from: isolate each HOST (only its loopback
                                            works); with --from: cut each HOST from each PEER
  heal --name TB HOST...                    undo every partition command given for HOST
  loss --name TB HOST PERCENT [--udp-only]  drop PERCENT % (0-100, decimals allowed) of HOST's TCP
                                            and UDP packets, in and out; 0 clears it

HOST is a short name (a1, b3) or a namespace name (TB-a1).
EOF
}

die() {
  echo "testbed: $*" >&2
  exit 1
}

# --- state -------------------------------------------------------------------------------
# One KEY=VALUE file per bed, written in full before anything is created, so that `down`
# knows what a partial `up` meant to make.

state_file() { echo "$STATE_DIR/$1.env"; }

state_get() {
  local file=$1 key=$2
  sed -n "s/^$key=//p" "$file" | head -n 1
}

# The bed being worked on, KEY -> VALUE.
declare -A STATE=()
load_state() {
  local key value
  while IFS='=' read -r key value; do STATE[$key]=$value; done <"$1"
}

require_state() {
  local file
  file=$(state_file "$1")
  [ -f "$file" ] || die "no test bed named $1 (see: testbed.sh list)"
  echo "$file"
}

# The start time of a process in clock ticks since boot (field 22 of /proc/PID/stat, read
# after the command name, which may hold spaces): with the pid it names one process even
# after the pid is reused.
process_start_time() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  echo "${stat##*) }" | awk '{ print $20 }'
}

owner_alive() {
  local file=$1 pid start
  pid=$(state_get "$file" TESTBED_OWNER_PID)
  [ "$pid" = 0 ] && return 0
  start=$(process_start_time "$pid") || return 1
  [ "$start" = "$(state_get "$file" TESTBED_OWNER_START)" ]
}

with_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$LOCK_FILE"
  flock -w 60 9 || die "could not take $LOCK_FILE within 60 s"
}

# --- names -------------------------------------------------------------------------------

validate_name() {
  [[ "$1" =~ ^[A-Za-z0-9_]{1,32}$ ]] ||
    die "bad bed name '$1': 1-32 letters, digits or _ (no '-': it separates the bed from its hosts)"
}

# The namespaces of bed TB that exist now: its router and hosts, and nothing of a bed whose
# name merely starts with TB.
existing_namespaces() {
  ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E "^$1-(r|[a-z][0-9]+)\$" || true
}

host_netns() {
  local name=$1 host=$2 file=$3 short=${2#"$1"-} ns
  ns=$(state_get "$file" "HOST_${short}_NS")
  [ -n "$ns" ] || die "no host '$host' in bed $name (hosts: $(state_get "$file" TESTBED_HOSTS))"
  echo "$ns"
}

host_ip() {
  local short=${2#"$1"-}
  state_get "$3" "HOST_${short}_IP"
}

in_ns() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

# --- check -------------------------------------------------------------------------------

cmd_check() {
  local missing=() tool probe="isla-tb-check-$$"
  if [ "$(id -u)" -ne 0 ]; then
    echo "testbed: network namespaces and iptables need root (run as root)" >&2
    exit "$SKIP_CODE"
  fi
  for tool in ip bridge iptables iptables-restore flock sysctl awk; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "testbed: missing ${missing[*]} (scripts/deps.sh installs them)" >&2
    exit "$SKIP_CODE"
  fi
  # shellcheck disable=SC2064 # the name is fixed now
  trap "ip netns del $probe >/dev/null 2>&1 || true" EXIT
  local output
  if ! output=$(ip netns add "$probe" 2>&1 &&
    ip -n "$probe" link add tbcheck0 type bridge 2>&1 &&
    ip -n "$probe" link add tbcheck1 type veth peer name tbcheck2 2>&1 &&
    in_ns "$probe" iptables -w 10 -A INPUT -p udp -m statistic --mode random \
      --probability 0.5 -j DROP 2>&1); then
    echo "testbed: cannot make namespaces, bridges, veths or iptables statistic rules here: $output" >&2
    exit "$SKIP_CODE"
  fi
  mkdir -p "$STATE_DIR" 2>/dev/null || {
    echo "testbed: cannot create $STATE_DIR" >&2
    exit "$SKIP_CODE"
  }
  echo "testbed: network namespaces, bridges, veths and iptables statistic work here"
}

# --- up ----------------------------------------------------------------------------------

# Subnet numbers K (of 10.77.K.0/24) that beds hold now.
used_subnets() {
  cat "$STATE_DIR"/*.env 2>/dev/null |
    sed -n "s/^ISLAND_[a-z]_SUBNET=${NET_PREFIX//./\\.}\.\([0-9]*\)\.0\/24$/\1/p"
}

allocate_subnets() {
  local count=$1 k used picked=()
  used=" $(used_subnets | tr '\n' ' ') "
  for ((k = FIRST_SUBNET; k <= LAST_SUBNET && ${#picked[@]} < count; k++)); do
    [[ "$used" == *" $k "* ]] || picked+=("$k")
  done
  [ ${#picked[@]} -eq "$count" ] || die "no free subnets left in $NET_PREFIX.0.0/16 (see: testbed.sh list)"
  echo "${picked[@]}"
}

write_state() {
  local name=$1 islands=$2 hosts=$3 owner=$4 file tmp island k i letter subnets
  read -r -a subnets <<<"$5"
  local host_list="" island_list=""
  file=$(state_file "$name")
  tmp="$file.tmp"
  {
    echo "TESTBED_NAME=$name"
    echo "TESTBED_OWNER_PID=$owner"
    if [ "$owner" = 0 ]; then echo "TESTBED_OWNER_START=0"; else
      echo "TESTBED_OWNER_START=$(process_start_time "$owner")"
    fi
    echo "TESTBED_ROUTER_NS=$name-r"
    for ((island = 0; island < islands; island++)); do
      letter=${ISLAND_LETTERS:island:1}
      k=${subnets[island]}
      island_list+="${island_list:+ }$letter"
      echo "ISLAND_${letter}_SUBNET=$NET_PREFIX.$k.0/24"
      echo "ISLAND_${letter}_BROADCAST=$NET_PREFIX.$k.255"
      echo "ISLAND_${letter}_ROUTER_IP=$NET_PREFIX.$k.$ROUTER_OCTET"
      for ((i = 1; i <= hosts; i++)); do
        host_list+="${host_list:+ }$letter$i"
        echo "HOST_$letter${i}_NS=$name-$letter$i"
        echo "HOST_$letter${i}_IP=$NET_PREFIX.$k.$i"
        echo "HOST_$letter${i}_ISLAND=$letter"
      done
    done
    echo "TESTBED_ISLANDS=$island_list"
    echo "TESTBED_HOSTS=$host_list"
  } >"$tmp"
  mv "$tmp" "$file"
}

# Every namespace first (the veths are made straight into them), in one `ip` call.
make_namespaces() {
  local short
  {
    echo "netns add ${STATE[TESTBED_ROUTER_NS]}"
    for short in ${STATE[TESTBED_HOSTS]}; do echo "netns add ${STATE[HOST_${short}_NS]}"; done
  } | ip -batch -
}

# A host: an eth0 whose peer (named after the host) is made in the router namespace, its
# address, and a default route through the router. Nothing is made in the root namespace.
make_host() {
  local short=$1 ns=${STATE[HOST_${1}_NS]} letter=${STATE[HOST_${1}_ISLAND]}
  ip -n "$ns" -batch - <<EOF
link set lo up
link add eth0 type veth peer name $short netns ${STATE[TESTBED_ROUTER_NS]}
addr add ${STATE[HOST_${short}_IP]}/24 brd + dev eth0
link set eth0 up
route add default via ${STATE[ISLAND_${letter}_ROUTER_IP]}
EOF
  make_host_chains "$ns"
}

# Chains for partition and loss, jumped to from INPUT and OUTPUT, empty until used.
make_host_chains() {
  in_ns "$1" iptables-restore -w 10 --noflush <<EOF
*filter
:$PARTITION_IN - [0:0]
:$PARTITION_OUT - [0:0]
:$LOSS_IN - [0:0]
:$LOSS_OUT - [0:0]
-A INPUT -j $PARTITION_IN
-A INPUT -j $LOSS_IN
-A OUTPUT -j $PARTITION_OUT
-A OUTPUT -j $LOSS_OUT
COMMIT
EOF
}

# Each island's switch is a bridge in the router namespace, and the router's leg on the
# island is the bridge's own address: no namespace per switch to clean up.
make_router() {
  local router=${STATE[TESTBED_ROUTER_NS]} letter short
  {
    echo "link set lo up"
    for letter in ${STATE[TESTBED_ISLANDS]}; do
      echo "link add br-$letter type bridge"
      echo "addr add ${STATE[ISLAND_${letter}_ROUTER_IP]}/24 brd + dev br-$letter"
      echo "link set br-$letter up"
    done
    for short in ${STATE[TESTBED_HOSTS]}; do
      echo "link set $short master br-${STATE[HOST_${short}_ISLAND]} up"
    done
  } | ip -n "$router" -batch -
  in_ns "$router" sysctl -qw net.ipv4.ip_forward=1
}

# A veth's carrier, and so its bridge port's forwarding state, comes up asynchronously (the
# kernel's link watch runs up to a second later): until then the first packets are lost.
wait_until_links_carry() {
  local router=${STATE[TESTBED_ROUTER_NS]} tries short ports
  ports=$(echo "${STATE[TESTBED_HOSTS]}" | wc -w)
  for ((tries = 0; tries < 100; tries++)); do
    if [ "$(bridge -n "$router" link show | grep -c 'state forwarding')" -eq "$ports" ]; then
      for short in ${STATE[TESTBED_HOSTS]}; do
        ip -n "${STATE[HOST_${short}_NS]}" -br link show eth0 | grep -q ' UP ' || continue 2
      done
      return 0
    fi
    sleep 0.05
  done
  die "the bed's links did not come up within 5 s: $(bridge -n "$router" link show)"
}

collect_stale() {
  local file name probe
  for file in "$STATE_DIR"/*.env; do
    [ -f "$file" ] || continue
    owner_alive "$file" && continue
    name=$(basename "$file" .env)
    echo "testbed: removing stale bed $name (owner pid $(state_get "$file" TESTBED_OWNER_PID) is gone)" >&2
    remove_bed "$name" || echo "testbed: could not remove all of stale bed $name" >&2
  done
  # A `check` killed before its trap ran leaves its probe namespace, named after its pid.
  for probe in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E '^isla-tb-check-[0-9]+$' || true); do
    [ -d "/proc/${probe##*-}" ] || ip netns del "$probe" 2>/dev/null || true
  done
}

cmd_up() {
  local name=$1 islands=$2 hosts=$3 owner=$4 file subnets short
  [[ "$islands" =~ ^[0-9]+$ ]] && [ "$islands" -ge 1 ] && [ "$islands" -le ${#ISLAND_LETTERS} ] ||
    die "--islands must be 1-${#ISLAND_LETTERS}, not '$islands'"
  [[ "$hosts" =~ ^[0-9]+$ ]] && [ "$hosts" -ge 1 ] && [ "$hosts" -le $MAX_HOSTS_PER_ISLAND ] ||
    die "--hosts-per-island must be 1-$MAX_HOSTS_PER_ISLAND, not '$hosts'"
  [[ "$owner" =~ ^[0-9]+$ ]] || die "--owner-pid must be a pid or 0, not '$owner'"
  [ "$owner" = 0 ] || [ -d "/proc/$owner" ] || die "--owner-pid $owner: no such process"
  file=$(state_file "$name")

  with_lock
  collect_stale
  [ ! -f "$file" ] || die "bed $name exists (owner pid $(state_get "$file" TESTBED_OWNER_PID)); run: testbed.sh down --name $name"
  [ -z "$(existing_namespaces "$name")" ] ||
    die "namespaces of a bed $name exist without its state: $(existing_namespaces "$name" | tr '\n' ' ')(ip netns del them)"
  subnets=$(allocate_subnets "$islands")
  write_state "$name" "$islands" "$hosts" "$owner" "$subnets"
  exec 9>&-

  # From here a failure removes what was made, then exits non-zero.
  # shellcheck disable=SC2064 # the name is fixed now
  trap "echo 'testbed: up failed; removing what it made' >&2; remove_bed $name || true" EXIT
  load_state "$file"
  make_namespaces
  for short in ${STATE[TESTBED_HOSTS]}; do make_host "$short"; done
  make_router
  wait_until_links_carry
  trap - EXIT
  cat "$file"
}

# --- down --------------------------------------------------------------------------------

# The processes whose network namespace is one of the named ones (what `ip netns pids`
# finds, for many namespaces in one look at /proc).
pids_in() {
  local ids
  ids=$(stat -L -c '%d:%i' "${@/#//run/netns/}" 2>/dev/null | tr '\n' ' ' || true)
  stat -L -c '%d:%i %n' /proc/[0-9]*/ns/net 2>/dev/null |
    awk -v ids=" $ids " 'index(ids, " " $1 " ") { split($2, path, "/"); print path[3] }'
}

# Signals every process of the namespaces; for KILL, until none is left (a namespace that
# holds processes outlives `ip netns del`, veths and all).
kill_all_in() {
  local signal=$1 pids tries
  shift
  for ((tries = 0; tries < 100; tries++)); do
    pids=$(pids_in "$@")
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086 # one pid per word
    kill -s "$signal" $pids 2>/dev/null || true
    [ "$signal" = KILL ] || return 0
    sleep 0.05
  done
  return 1
}

remove_bed() {
  local name=$1 namespaces left ns
  namespaces=$(existing_namespaces "$name")
  if [ -n "$namespaces" ]; then
    # shellcheck disable=SC2086 # one name per word
    kill_all_in KILL $namespaces || echo "testbed: processes in $name's namespaces survive SIGKILL" >&2
    for ns in $namespaces; do echo "netns del $ns"; done | ip -force -batch - 2>/dev/null || true
  fi
  left=$(existing_namespaces "$name")
  if [ -n "$left" ]; then
    echo "testbed: could not remove namespaces: $left" >&2
    return 1
  fi
  rm -f "$(state_file "$name")"
}

cmd_down() {
  remove_bed "$1" || die "bed $1 is not fully removed (see above)"
}

# --- other commands ----------------------------------------------------------------------

cmd_list() {
  local file pid state
  for file in "$STATE_DIR"/*.env; do
    # A bed being removed meanwhile is skipped.
    pid=$(state_get "$file" TESTBED_OWNER_PID 2>/dev/null) || continue
    if [ "$pid" = 0 ]; then state="kept"; elif owner_alive "$file"; then state="owner alive"; else state="stale"; fi
    printf '%s\towner %s (%s)\thosts %s\n' "$(basename "$file" .env)" "$pid" "$state" \
      "$(state_get "$file" TESTBED_HOSTS 2>/dev/null)"
  done
}

cmd_show() {
  local file
  file=$(require_state "$1")
  cat "$file"
}

cmd_gc() {
  with_lock
  collect_stale
}

cmd_keep() {
  local file
  file=$(require_state "$1")
  with_lock
  sed -i -e 's/^TESTBED_OWNER_PID=.*/TESTBED_OWNER_PID=0/' -e 's/^TESTBED_OWNER_START=.*/TESTBED_OWNER_START=0/' "$file"
  echo "testbed: $1 is kept until: testbed.sh down --name $1"
}

cmd_exec() {
  local name=$1 host=$2 file ns
  shift 2
  [ $# -gt 0 ] || die "exec: no command after '--'"
  file=$(require_state "$name")
  ns=$(host_netns "$name" "$host" "$file")
  exec ip netns exec "$ns" "$@"
}

cmd_kill() {
  local name=$1 host=$2 signal=$3 file ns
  file=$(require_state "$name")
  ns=$(host_netns "$name" "$host" "$file")
  case "$signal" in KILL | SIGKILL | 9) signal=KILL ;; esac
  # For KILL, returns once nothing runs there: the caller may rely on the host being dead.
  kill_all_in "$signal" "$ns" || die "processes in $ns survive SIGKILL: $(pids_in "$ns" | tr '\n' ' ')"
}

# Replaces every rule of a host's chains at once (iptables-restore flushes a chain it
# declares); each further argument is one "CHAIN rule..." line.
set_chains() {
  local ns=$1
  shift
  local chains=$1
  shift
  {
    echo "*filter"
    for chain in $chains; do echo ":$chain - [0:0]"; done
    for rule in "$@"; do echo "-A $rule"; done
    echo "COMMIT"
  } | in_ns "$ns" iptables-restore -w 10 --noflush
}

add_rule_once() {
  local ns=$1
  shift
  in_ns "$ns" iptables -w 10 -C "$@" 2>/dev/null || in_ns "$ns" iptables -w 10 -A "$@"
}

cmd_partition() {
  local name=$1 file host peer ns peer_ip
  shift
  local hosts=() peers=() seen_from=0
  for host in "$@"; do
    if [ "$host" = --from ]; then seen_from=1; elif [ $seen_from = 1 ]; then peers+=("$host"); else hosts+=("$host"); fi
  done
  [ ${#hosts[@]} -gt 0 ] || die "partition: name at least one host"
  [ $seen_from = 0 ] || [ ${#peers[@]} -gt 0 ] || die "partition: --from needs at least one host"
  file=$(require_state "$name")
  for host in "${hosts[@]}"; do
    ns=$(host_netns "$name" "$host" "$file")
    if [ ${#peers[@]} -eq 0 ]; then
      set_chains "$ns" "$PARTITION_IN $PARTITION_OUT" \
        "$PARTITION_IN -i lo -j RETURN" "$PARTITION_IN -j DROP" \
        "$PARTITION_OUT -o lo -j RETURN" "$PARTITION_OUT -j DROP"
      continue
    fi
    for peer in "${peers[@]}"; do
      host_netns "$name" "$peer" "$file" >/dev/null
      peer_ip=$(host_ip "$name" "$peer" "$file")
      # Both directions are cut in HOST alone: `heal HOST` undoes it.
      add_rule_once "$ns" "$PARTITION_IN" -s "$peer_ip" -j DROP
      add_rule_once "$ns" "$PARTITION_OUT" -d "$peer_ip" -j DROP
    done
  done
}

cmd_heal() {
  local name=$1 file host ns
  shift
  [ $# -gt 0 ] || die "heal: name at least one host"
  file=$(require_state "$name")
  for host in "$@"; do
    ns=$(host_netns "$name" "$host" "$file")
    set_chains "$ns" "$PARTITION_IN $PARTITION_OUT"
  done
}

cmd_loss() {
  local name=$1 host=$2 percent=$3 udp_only=$4 file ns probability protocols=(udp tcp) rules=()
  [[ "$percent" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v p="$percent" 'BEGIN { exit !(p <= 100) }' ||
    die "loss: PERCENT must be 0-100, not '$percent'"
  file=$(require_state "$name")
  ns=$(host_netns "$name" "$host" "$file")
  [ "$udp_only" = 0 ] || protocols=(udp)
  probability=$(awk -v p="$percent" 'BEGIN { printf "%.6f", p / 100 }')
  if awk -v p="$probability" 'BEGIN { exit !(p > 0) }'; then
    for protocol in "${protocols[@]}"; do
      rules+=("$LOSS_IN ! -i lo -p $protocol -m statistic --mode random --probability $probability -j DROP")
      rules+=("$LOSS_OUT ! -o lo -p $protocol -m statistic --mode random --probability $probability -j DROP")
    done
  fi
  set_chains "$ns" "$LOSS_IN $LOSS_OUT" "${rules[@]}"
}

# --- command line ------------------------------------------------------------------------

main() {
  [ $# -gt 0 ] || {
    usage >&2
    exit 2
  }
  local command=$1
  shift
  local name="" islands=2 hosts_per_island=3 owner=$PPID udp_only=0 positional=() rest=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --name) name=${2:?--name needs a value}; shift 2 ;;
      --islands) islands=${2:?--islands needs a value}; shift 2 ;;
      --hosts-per-island) hosts_per_island=${2:?--hosts-per-island needs a value}; shift 2 ;;
      --owner-pid) owner=${2:?--owner-pid needs a value}; shift 2 ;;
      --udp-only) udp_only=1; shift ;;
      --) shift; rest=("$@"); break ;;
      -h | --help) usage; exit 0 ;;
      *) positional+=("$1"); shift ;;
    esac
  done
  case "$command" in
    check | list | gc | help | -h | --help) ;;
    up | down | show | keep | exec | kill | partition | heal | loss)
      [ -n "$name" ] || die "$command: --name TB is required"
      validate_name "$name"
      ;;
    *)
      usage >&2
      die "unknown command '$command'"
      ;;
  esac
  local count=${#positional[@]}
  case "$command" in
    check) cmd_check ;;
    up) cmd_up "$name" "$islands" "$hosts_per_island" "$owner" ;;
    down) cmd_down "$name" ;;
    show) cmd_show "$name" ;;
    list) cmd_list ;;
    gc) cmd_gc ;;
    keep) cmd_keep "$name" ;;
    exec)
      [ "$count" -eq 1 ] || die "usage: exec --name TB HOST -- CMD [ARG...]"
      cmd_exec "$name" "${positional[0]}" "${rest[@]}"
      ;;
    kill)
      [ "$count" -ge 1 ] && [ "$count" -le 2 ] || die "usage: kill --name TB HOST [SIGNAL]"
      cmd_kill "$name" "${positional[0]}" "${positional[1]:-KILL}"
      ;;
    partition) cmd_partition "$name" "${positional[@]}" ;;
    heal) cmd_heal "$name" "${positional[@]}" ;;
    loss)
      [ "$count" -eq 2 ] || die "usage: loss --name TB HOST PERCENT [--udp-only]"
      cmd_loss "$name" "${positional[0]}" "${positional[1]}" "$udp_only"
      ;;
    help | -h | --help) usage ;;
  esac
}

main "$@"
