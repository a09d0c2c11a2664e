#!/usr/bin/env bash
# Installs the manifest validator's pinned npm packages (deploy/k8s/validate/package-lock.json)
# into the build tree, once: again only when the lock file changes.
set -euo pipefail
source_dir="$1"
target="$2"
mkdir -p "$target"
if cmp -s "$source_dir/package-lock.json" "$target/package-lock.json" && [ -d "$target/node_modules" ]; then
  echo "k8s validator packages up to date in $target"
  exit 0
fi
cp "$source_dir/package.json" "$source_dir/package-lock.json" "$target/"
cd "$target"
npm ci --no-audit --no-fund --loglevel=error
