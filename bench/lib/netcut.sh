# Shared by the bench scripts (sourced; they define note). Cuts links between processes on
# loopback with iptables, for flaky-link runs.
#
# On loopback every connection leaves from 127.0.0.1 whatever address the peer listens on, so
# a rule cannot tell which process sent a packet by its source address. Instead each process
# whose links may be cut runs in its own cgroup (v2) under one cgroup made for the run, and the
# rules match the sending socket's cgroup (`-m cgroup --path`) and the destination address.
# All rules live in one chain of the filter table, hooked into OUTPUT, that netcut_teardown
# removes (call it from the script's EXIT trap); the cgroups are removed with it.
#
#   netcut_setup TAG        -> 0 and sets NETCUT_CHAIN, NETCUT_CG_DIR (absolute) and NETCUT_CG_PATH
#                              (as iptables names it); or 1 with the reason in NETCUT_WHY.
#                              Needs root, iptables that can match cgroups, a writable cgroup2.
#   netcut_exec NAME CMD... -> (run it in the background with &) puts itself in cgroup NAME, then
#                              execs CMD, so CMD's pid is $!; without netcut_setup, just execs CMD
#   netcut_path NAME        -> the cgroup path of NAME for iptables' --path
#   netcut_teardown         -> removes the chain, its hook and the cgroups; idempotent
NETCUT_CHAIN=""
NETCUT_CG_DIR=""
NETCUT_CG_PATH=""
NETCUT_WHY=""

netcut_setup() {
  local tag="$1" mnt out
  NETCUT_WHY=""
  if ((EUID != 0)); then NETCUT_WHY="not root (iptables needs it)"; return 1; fi
  if ! command -v iptables >/dev/null 2>&1; then NETCUT_WHY="iptables not found"; return 1; fi
  if ! out="$(iptables -w 5 -S OUTPUT 2>&1)"; then NETCUT_WHY="iptables unusable: ${out}"; return 1; fi
  # Where cgroup2 is mounted: /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid).
  mnt="$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
    /proc/self/mountinfo | head -n 1)"
  if [[ -z "$mnt" ]]; then NETCUT_WHY="no cgroup2 hierarchy mounted"; return 1; fi
  # Paths given to iptables are taken from the root of our cgroup namespace; this works when
  # that is the mount's root (the usual case; the test rule below checks it).
  NETCUT_CG_PATH="/${tag}"
  NETCUT_CG_DIR="${mnt}${NETCUT_CG_PATH}"
  if ! out="$(mkdir "$NETCUT_CG_DIR" 2>&1)"; then
    NETCUT_WHY="cannot create cgroup ${NETCUT_CG_DIR}: ${out}"
    NETCUT_CG_DIR=""
    return 1
  fi
  NETCUT_CHAIN="$(printf '%.28s' "${tag^^}")"   # iptables chain names: at most 28 characters
  if ! out="$(iptables -w 5 -N "$NETCUT_CHAIN" 2>&1)"; then
    NETCUT_WHY="cannot create iptables chain ${NETCUT_CHAIN}: ${out}"
    NETCUT_CHAIN=""
    netcut_teardown
    return 1
  fi
  if ! out="$(iptables -w 5 -I OUTPUT 1 -j "$NETCUT_CHAIN" 2>&1)"; then
    NETCUT_WHY="cannot hook ${NETCUT_CHAIN} into OUTPUT: ${out}"
    netcut_teardown
    return 1
  fi
  # A rule of the kind the flaky runs add (address 127.0.0.0 is never used).
  if ! out="$(iptables -w 5 -A "$NETCUT_CHAIN" -p tcp -d 127.0.0.0 -m cgroup --path "$NETCUT_CG_PATH" \
    -j REJECT --reject-with tcp-reset 2>&1)"; then
    NETCUT_WHY="iptables cannot match on cgroups (xt_cgroup) or REJECT: ${out}"
    netcut_teardown
    return 1
  fi
  iptables -w 5 -F "$NETCUT_CHAIN"
}

netcut_path() { echo "${NETCUT_CG_PATH}/$1"; }

netcut_exec() {
  local name="$1"
  shift
  if [[ -n "$NETCUT_CG_DIR" ]]; then
    mkdir -p "$NETCUT_CG_DIR/$name" && echo "$BASHPID" >"$NETCUT_CG_DIR/$name/cgroup.procs" ||
      { echo "netcut: cannot join cgroup $NETCUT_CG_DIR/$name" >&2; exit 1; }
  fi
  exec "$@"
}

netcut_teardown() {
  local d
  if [[ -n "$NETCUT_CHAIN" ]]; then
    while iptables -w 5 -D OUTPUT -j "$NETCUT_CHAIN" 2>/dev/null; do :; done
    iptables -w 5 -F "$NETCUT_CHAIN" 2>/dev/null
    iptables -w 5 -X "$NETCUT_CHAIN" 2>/dev/null ||
      echo "netcut: could not remove iptables chain ${NETCUT_CHAIN}; remove it by hand" >&2
    NETCUT_CHAIN=""
  fi
  if [[ -n "$NETCUT_CG_DIR" && -d "$NETCUT_CG_DIR" ]]; then
    # Only empty cgroups can go: the caller stops its processes first.
    for d in "$NETCUT_CG_DIR"/*/; do [[ -d "$d" ]] && rmdir "$d" 2>/dev/null; done
    rmdir "$NETCUT_CG_DIR" 2>/dev/null ||
      echo "netcut: could not remove cgroup ${NETCUT_CG_DIR} (processes left in it?)" >&2
    NETCUT_CG_DIR=""
  fi
  return 0
}
