#!/usr/bin/env bash
# CTest's bench_scripts_check (label unit): the benchmark scripts run rarely and by hand, so a
# syntax error in one would otherwise wait for the next benchmark run to show. Every bench and
# test-bed shell script must parse (bash -n), every bench Python helper must compile, and
# bench/scaling.sh must refuse a bad knob with a message of its own before it makes anything.
# Usage: bench_scripts_check.sh SOURCE_DIR
set -uo pipefail
src="${1:?usage: bench_scripts_check.sh SOURCE_DIR}"
failed=0
for script in "$src"/bench/*.sh "$src"/bench/lib/*.sh "$src"/scripts/testbed/testbed.sh; do
  bash -n "$script" || { echo "FAIL: $script does not parse" >&2; failed=1; }
done
for helper in "$src"/bench/*.py "$src"/bench/lib/*.py; do
  python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' "$helper" ||
    { echo "FAIL: $helper does not compile" >&2; failed=1; }
done
# As root the bad SIZES is what it names; as another user, root. Either way: exit 1 and a
# line of its own, not a shell error.
out="$(SIZES=2 ISLA_BIN=/nonexistent bash "$src/bench/scaling.sh" 2>&1)"
rc=$?
if ((rc != 1)) || [[ "$out" != scaling:* ]]; then
  echo "FAIL: bench/scaling.sh with SIZES=2 exited $rc saying: $out" >&2
  failed=1
fi
exit "$failed"
