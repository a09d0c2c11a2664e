# Sourced by the benchmarks' cleanup: after a failed run, the end of every non-empty log.
# print_log_tails DIR LINES FILE...: names each FILE relative to DIR, on stderr.
print_log_tails() {
  local dir="$1" lines="$2" log
  shift 2
  for log in "$@"; do
    [[ -s "$log" ]] || continue
    echo "---- last lines of ${log#"$dir"/} ----" >&2
    tail -n "$lines" "$log" >&2
  done
}
