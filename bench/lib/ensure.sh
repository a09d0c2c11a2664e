# Shared by the bench scripts (sourced; they define note). ensure_cmd CMD PACKAGE: returns 0 if
# CMD is on PATH; otherwise, as root on a system with apt-get, tries once to install PACKAGE
# (no recommends, at most 5 minutes, no `apt-get update`) and returns whether CMD is there now.
# Output of apt-get goes to ENSURE_LOG (default /dev/null).
ensure_cmd() {
  local cmd="$1" pkg="$2"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  ((EUID == 0)) && command -v apt-get >/dev/null 2>&1 || return 1
  note "'$cmd' not found: installing package $pkg (apt-get install -y --no-install-recommends $pkg)"
  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y --no-install-recommends "$pkg" \
    >>"${ENSURE_LOG:-/dev/null}" 2>&1 || true
  command -v "$cmd" >/dev/null 2>&1
}
