# shellcheck shell=bash
# Shared by the benchmarks that spread their load over more figures than data/figures holds
# (sourced; run from the repository's root).

# make_figure_catalog DIR COUNT: COUNT figures in DIR, the figures of data/figures in turn,
# the Nth round of them named NAME-N; sets FIGURES_LIST to their names, comma-separated.
make_figure_catalog() {
  local dir="$1" count="$2" originals=() names=() f src base name
  mkdir -p "$dir"
  mapfile -t originals < <(ls data/figures/*.toml)
  for ((f = 0; f < count; f++)); do
    src="${originals[f % ${#originals[@]}]}"
    base="$(basename "$src" .toml)"
    name="${base}-$((f / ${#originals[@]} + 1))"
    sed "s/^name = \"${base}\"/name = \"${name}\"/" "$src" >"$dir/$name.toml"
    names+=("$name")
  done
  FIGURES_LIST="$(IFS=,; echo "${names[*]}")"
}
