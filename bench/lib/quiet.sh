# shellcheck shell=bash
# Shared by the bench scripts (sourced; they define note). wait_for_quiet: returns once no wrk
# runs on the machine (another benchmark's: measured runs must not overlap), saying so while
# it waits; gives up waiting after QUIET_TIMEOUT s (default 1800) and carries on with a note.
wait_for_quiet() {
  local deadline=$((SECONDS + ${QUIET_TIMEOUT:-1800})) said=0
  while pgrep -x wrk >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      note "another benchmark's wrk still runs after ${QUIET_TIMEOUT:-1800}s; measuring anyway"
      return 0
    fi
    ((said)) || note "waiting for another benchmark's wrk to finish (pgrep -x wrk)"
    said=1
    sleep 1
  done
}
