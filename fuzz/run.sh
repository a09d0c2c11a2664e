#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time on its corpus and prints one summary line
# per target. Usage: fuzz/run.sh BUILD_DIR [SECONDS [TARGET...]] (every target by default)
#
# Each target runs on BUILD_DIR/fuzz/corpus-<target>, which starts as a copy of
# fuzz/seeds/<target> and keeps what libFuzzer adds, so later runs resume from there.
# Crash/timeout/OOM inputs land in BUILD_DIR/fuzz/artifacts-<target>/, logs in
# BUILD_DIR/fuzz/<target>.log. Exits non-zero when any target crashed, hung, ran out of
# memory or could not run.
#
# FUZZ_SKIP_KNOWN_BUGS=1 (passed through to the fuzzers) makes the targets that know of a
# bug not fixed yet skip the inputs that hit it, so a run can look for other bugs; see the
# comment at the top of each target.
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [SECONDS [TARGET...]]" >&2
  exit 2
fi
build_dir=$1
seconds=${2:-30}
case "$seconds" in
  '' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac
[ "$seconds" -ge 1 ] || seconds=1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out_dir="$build_dir/fuzz"
targets=(fuzz_catalog fuzz_config_file fuzz_datagram fuzz_http_request fuzz_raft_codec fuzz_raft_messages
  fuzz_snapshot_chunk fuzz_wal_recovery fuzz_kv_snapshot fuzz_kv_command fuzz_kv_json fuzz_sse
  fuzz_http_response fuzz_token fuzz_request_auth fuzz_election_codec fuzz_event_json
  fuzz_island_catalogue fuzz_task_params fuzz_task_manifest fuzz_worker_wire fuzz_task_cli_params
  fuzz_order_json fuzz_kubernetes_reply)
if [ $# -gt 2 ]; then
  targets=("${@:3}")
fi

# libFuzzer stops itself after -max_total_time; the outer `timeout` only guards against a
# fuzzer that cannot stop (stuck while loading the corpus, a hang in a signal handler...).
grace=$((60 + seconds / 2))
per_input_timeout=10

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
summaries=()

for target in "${targets[@]}"; do
  binary="$out_dir/$target"
  corpus="$out_dir/corpus-$target"
  artifacts="$out_dir/artifacts-$target"
  log="$out_dir/$target.log"
  if [ ! -x "$binary" ]; then
    summaries+=("$(printf '%-18s MISSING  (%s not built)' "$target" "$binary")")
    failed=1
    continue
  fi
  mkdir -p "$corpus" "$artifacts"
  if [ -d "$here/seeds/$target" ]; then
    cp -f "$here/seeds/$target"/* "$corpus"/ 2>/dev/null || true
  fi

  marker="$out_dir/.run-started-$target"
  : >"$marker"

  echo "== $target: fuzzing for ${seconds}s (corpus $corpus)"
  timeout --kill-after=10 "$((seconds + grace))" \
    "$binary" "$corpus" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=16384 \
    -timeout="$per_input_timeout" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1
  rc=$?

  # libFuzzer's last status line: "#N DONE cov: C ft: F corp: ... exec/s: E rss: R"
  # (or the last progress line when it stopped early).
  status_line=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -n 1)
  runs=$(grep -E '^stat::number_of_executed_units:' "$log" | tail -n 1 | awk '{print $2}')
  execs=$(grep -E '^stat::average_exec_per_sec:' "$log" | tail -n 1 | awk '{print $2}')
  [ -n "$runs" ] || runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$status_line")
  [ -n "$execs" ] || execs=$(sed -nE 's/.*exec\/s: ([0-9]+).*/\1/p' <<<"$status_line")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status_line")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$status_line")
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$status_line")

  if [ "$rc" -eq 0 ]; then
    verdict="OK"
  elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    verdict="KILLED(timeout rc=$rc)"
    failed=1
  else
    verdict="CRASH(rc=$rc)"
    failed=1
  fi
  summaries+=("$(printf '%-18s %-8s runs: %s  exec/s: %s  cov: %s  ft: %s  corpus: %s' \
    "$target" "$verdict" "${runs:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")")

  if [ "$rc" -ne 0 ]; then
    echo "-- $target failed (exit $rc); log: $log"
    # The sanitizer / libFuzzer report and the reproducer path.
    grep -nE 'ERROR: |runtime error|invariant violated|Test unit written|SUMMARY|deadly signal|==[0-9]+==' "$log" | head -n 20
    grep -nE '^[[:space:]]+#[0-9]+ 0x' "$log" | head -n 25
    # This run's reproducers (crash-*, timeout-*, oom-*, leak-*), shown escaped.
    find "$artifacts" -type f -newer "$marker" | while read -r artifact; do
      echo "   artifact: $artifact ($(wc -c <"$artifact") bytes)"
      printf '   input: '
      head -c 512 "$artifact" | od -An -c -w512 | sed -E 's/ +/ /g'
      echo "   reproduce: $binary $artifact"
    done
  fi
done

echo
echo "== fuzz summary (${seconds}s per target)"
for line in "${summaries[@]}"; do echo "$line"; done
exit "$failed"
