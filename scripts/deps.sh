#!/usr/bin/env bash
# Installs every Debian package that isla's build, tests, fuzzers and benchmarks need.
# Idempotent: packages already present are not touched, and apt is not called at all
# when nothing is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libsqlite3-dev sqlite3 libssl-dev prometheus-cpp-dev zlib1g-dev
  libgtest-dev libgmock-dev librapidcheck-dev
  clang-14 libclang-rt-14-dev clang-format
  curl procps iproute2 iptables
  wrk nginx-light haproxy etcd-server etcd-client python3 valgrind
  chromium chromium-driver
  bubblewrap nats-server libnats-dev
  iputils-arping keepalived
  gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The Kubernetes manifests' validator (tests/k8s) runs under Node with npm packages. Checked
# by command, not package: a Node from elsewhere that bundles npm must not get Debian's npm.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# nginx, etcd, NATS and keepalived are only benchmark comparators: they must not run as system services.
for unit in nginx etcd nats-server keepalived; do
  if command -v systemctl >/dev/null 2>&1; then $sudo systemctl disable --now "$unit" >/dev/null 2>&1 || true; fi
done
$sudo pkill -x nginx >/dev/null 2>&1 || true
