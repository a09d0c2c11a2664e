# shellcheck shell=bash
# Shared by the bench scripts (sourced). CPU time of processes, in clock ticks (getconf CLK_TCK,
# 100 on Linux), to turn into µs of CPU per request around a measured run.
#
# cpu_ticks PID...: utime + stime (fields 14 and 15 of /proc/PID/stat) summed over the PIDs and
# all their threads; a PID that is gone counts 0. The comm field (2) may hold spaces, so the
# fields are counted after its closing parenthesis.
cpu_ticks() {
  sum_cpu_ticks "$@"
  echo "$TICKS"
}

# sum_cpu_ticks PID...: the same into TICKS, without a subshell (called directly, nothing is
# forked: a snapshot of many processes stays quick on a loaded machine).
sum_cpu_ticks() {
  local pid stat rest f
  TICKS=0
  for pid in "$@"; do
    { read -r stat <"/proc/${pid}/stat"; } 2>/dev/null || continue
    rest="${stat##*) }"
    # rest starts at field 3 (state): utime is field 14 -> word 12 of rest, stime word 13.
    read -r -a f <<<"$rest"
    TICKS=$((TICKS + f[11] + f[12]))
  done
}

# sum_ctx_switches PID...: voluntary + involuntary context switches of every thread of the PIDs
# (/proc/PID/task/*/status) into CTX (one cat and one awk for all); a PID that is gone counts 0. A
# process woken once per request switches about once per request; one that finds several
# requests ready per wake-up, less.
sum_ctx_switches() {
  local pid files=()
  for pid in "$@"; do files+=(/proc/"$pid"/task/*/status); done
  CTX=0
  ((${#files[@]})) || return 0
  # shellcheck disable=SC2034 # read by the caller
  CTX="$(cat "${files[@]}" 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }')"
}

# children_cpu_ticks SCRATCH_FILE: sets CHILD_TICKS to the user + system CPU of this shell's
# waited-for children so far (bash's `times`, second line), in ticks. Call it directly, not in
# $(...): a subshell's children are its own. Taken before and after `wait` on one child, the
# difference is that child's CPU (wrk's, for instance: it is gone by the time we could read its
# /proc). `times` must run in this shell, hence the scratch file and the variable.
children_cpu_ticks() {
  local hz line
  hz="$(getconf CLK_TCK)"
  times >"$1"
  line="$(sed -n 2p "$1")"
  # shellcheck disable=SC2034 # read by the caller
  CHILD_TICKS="$(awk -v l="$line" -v hz="$hz" 'BEGIN {
    n = split(l, a, " "); s = 0
    for (i = 1; i <= n; i++) {
      v = a[i]; m = 0
      if (match(v, /^[0-9]+m/)) { m = substr(v, 1, RLENGTH - 1); v = substr(v, RLENGTH + 1) }
      sub(/s$/, "", v)
      s += m * 60 + v
    }
    printf "%d\n", s * hz + 0.5
  }')"
}

# us_per_request TICKS REQUESTS: µs of CPU per request.
us_per_request() {
  awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "n/a" }'
}
