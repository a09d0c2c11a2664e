# Reading what bench/lua/*.lua prints at the end of a wrk run (a "STORE-BENCH k=v ..." line),
# for the store benchmarks. Sourced; the caller declares the associative arrays RPS, P50,
# P99 and ERR and defines note() and die().

# to_ms MICROSECONDS
to_ms() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1000 }'; }

# read_store_bench NAME FILE: fills RPS[NAME], P50[NAME], P99[NAME] (ms) and ERR[NAME] (non-2xx
# answers plus socket errors) from wrk's output in FILE, and says so.
read_store_bench() {
  local name="$1" out line non2xx sockerr
  out="$(<"$2")"
  line="$(grep '^STORE-BENCH ' <<<"$out" || true)"
  [[ -n "$line" ]] || { printf '%s\n' "$out" >&2; die "${name}: no STORE-BENCH line in wrk's output"; }
  field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }
  RPS[$name]="$(field rps)"
  P50[$name]="$(to_ms "$(field p50_us)")"
  P99[$name]="$(to_ms "$(field p99_us)")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")"
  sockerr=$(($(field connect_err) + $(field read_err) + $(field write_err) + $(field timeout_err)))
  ERR[$name]=$((${non2xx:-0} + sockerr))
  note "${name}: $(printf '%.0f' "${RPS[$name]}")/s p50 ${P50[$name]} ms p99 ${P99[$name]} ms errors ${ERR[$name]}"
}
