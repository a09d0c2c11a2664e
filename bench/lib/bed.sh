# shellcheck shell=bash
# Shared by the bench scripts that run on the multi-host test bed (scripts/testbed/testbed.sh,
# docs/testbed.md). Sourced; the caller defines die and sets root.
#
#   bed_ip ENV_FILE HOST  -> the address of HOST (a1, b3, ...) in the state `testbed.sh up`
#                            printed into ENV_FILE; dies when the bed has none
#   bed_cmd BED HOST      -> sets BED_CMD to the prefix that runs a command in HOST. A prefix
#                            rather than a function, so that `$!` of a command started in the
#                            background with it is the command's own pid (testbed.sh exec and
#                            ip netns exec both exec). An empty BED: no prefix (loopback runs)
#   now_ms                -> the wall clock in ms since the epoch (the gateways' events carry
#                            wall_ms: one machine, one clock)
# shellcheck disable=SC2154 # root: set by the sourcing script
TESTBED_SH="$root/scripts/testbed/testbed.sh"

bed_ip() {
  local ip
  ip="$(sed -n "s/^HOST_$2_IP=//p" "$1")"
  [[ -n "$ip" ]] || die "the bed has no address for host $2"
  echo "$ip"
}

bed_cmd() {
  BED_CMD=()
  # shellcheck disable=SC2034 # read by the caller
  [[ -n "$1" ]] && BED_CMD=("$TESTBED_SH" exec --name "$1" "$2" --)
  return 0
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
