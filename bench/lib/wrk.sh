# Shared by the bench scripts (sourced; they define die). wrk_bg OUTFILE ARGS...: runs wrk in
# the background and waits for it, so that a SIGTERM to the script is handled at once (and
# the running wrk, whose pid is in wrk_pid, is stopped by the script's cleanup).
wrk_bg() {
  local outfile="$1"
  shift
  wrk "$@" >"$outfile" 2>&1 &
  wrk_pid=$!
  if ! wait "$wrk_pid"; then
    wrk_pid=""
    cat "$outfile" >&2
    die "wrk $* failed"
  fi
  wrk_pid=""
}
