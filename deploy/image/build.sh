#!/usr/bin/env bash
# Builds isla's OCI image with podman from local files only, then checks it by inspecting it.
#   deploy/image/build.sh ISLA_BINARY BUILD_DIR [TAG]
# Writes BUILD_DIR/image/isla-oci.tar (an OCI archive) and keeps podman's storage in
# BUILD_DIR/image/storage, so that nothing outside the build tree is touched. The image is
# never run here: containers cannot run on these machines (cgroups v1 mounted in a hybrid
# layout that podman cannot create a container's cgroup in), so the checks are what
# `podman image inspect` says: entrypoint, user, exposed ports, size.
set -euo pipefail

isla="$1"
mkdir -p "$2"
build="$(cd "$2" && pwd)"  # absolute: podman's storage database remembers its paths
tag="${3:-localhost/isla:latest}"
here="$(cd "$(dirname "$0")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"
work="$build/image"
rootfs="$work/context/rootfs"
max_bytes=$((150 * 1024 * 1024))

if ! command -v podman >/dev/null 2>&1; then
  echo "image: installing podman (Debian package)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends podman
fi

rm -rf "$work/context"
mkdir -p "$rootfs/usr/bin" "$rootfs/etc" "$rootfs/usr/share/isla" "$rootfs/tmp" \
  "$rootfs/var/lib/isla"
chmod 1777 "$rootfs/tmp"

# The binary without its debug sections (RelWithDebInfo makes it ~250 MB, ~10% of it code).
objcopy --strip-debug "$isla" "$rootfs/usr/bin/isla"

# Its shared libraries and the dynamic loader, at the paths ldd gives.
ldd "$isla" | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]+/ { print $1 }' | sort -u | while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
# glibc 2.34+ has the files and dns NSS modules built in; say which to use for host names
# (Kubernetes mounts /etc/hosts and /etc/resolv.conf into every container).
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
printf 'root:x:0:0:root:/root:/nonexistent\nisla:x:10001:10001:isla:/var/lib/isla:/nonexistent\n' \
  >"$rootfs/etc/passwd"
printf 'root:x:0:\nisla:x:10001:\n' >"$rootfs/etc/group"
cp -r "$source_dir/data/figures" "$rootfs/usr/share/isla/figures"
if [ -d "$source_dir/tasks.d" ]; then cp -r "$source_dir/tasks.d" "$rootfs/usr/share/isla/tasks.d"; fi
cp "$here/Containerfile" "$work/context/Containerfile"

# The image's files belong to root and are not writable by the user it runs as, but for
# /tmp and its data directory.
chown -R 0:0 "$rootfs" 2>/dev/null || true
chown 10001:10001 "$rootfs/var/lib/isla" 2>/dev/null || true

podman_() {
  podman --root "$work/storage" --runroot "$work/run" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend none "$@"
}
podman_ build --quiet --isolation chroot --format oci --timestamp 0 -t "$tag" "$work/context"
rm -f "$work/isla-oci.tar"
podman_ save --format oci-archive -o "$work/isla-oci.tar" "$tag"

# The checks: what Kubernetes and a reader of the manifests rely on.
inspect() { podman_ image inspect --format "$1" "$tag"; }
fail=0
check() {
  if [ "$2" = "$3" ]; then
    echo "ok   $1: $2"
  else
    echo "FAIL $1: got '$2', expected '$3'"
    fail=1
  fi
}
check entrypoint "$(inspect '{{json .Config.Entrypoint}}')" '["/usr/bin/isla"]'
check user "$(inspect '{{.Config.User}}')" "10001:10001"
ports="$(inspect '{{range $port, $_ := .Config.ExposedPorts}}{{$port}} {{end}}')"
check "exposed ports" "$(echo "$ports" | tr ' ' '\n' | grep . | sort | tr '\n' ' ')" \
  "1233/tcp 1233/udp 5235/tcp 5235/udp "
size="$(inspect '{{.Size}}')"
if [ "$size" -gt 0 ] && [ "$size" -le "$max_bytes" ]; then
  echo "ok   size: $size bytes ($((size / 1024 / 1024)) MiB, at most $((max_bytes / 1024 / 1024)) MiB)"
else
  echo "FAIL size: $size bytes, more than $max_bytes"
  fail=1
fi
# Every library the binary needs is in the image, at the path the loader will look.
missing=0
while read -r lib; do
  if [ ! -e "$rootfs$lib" ]; then echo "FAIL missing $lib"; missing=1; fi
done < <(ldd "$isla" | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]+/ { print $1 }')
[ "$missing" -eq 0 ] && echo "ok   shared libraries and loader: all $(ldd "$isla" | grep -c '/') present"
fail=$((fail | missing))
# Not a container, but the image's own files: its binary starts on its own loader and
# libraries, as the user it runs as (chroot needs root; skipped otherwise).
if [ "$(id -u)" -eq 0 ] && command -v chroot >/dev/null 2>&1; then
  if chroot --userspec=10001:10001 "$rootfs" /usr/bin/isla pieces --help >/dev/null 2>&1; then
    echo "ok   runs in its root filesystem: chroot --userspec=10001:10001 rootfs /usr/bin/isla"
  else
    echo "FAIL the binary does not start in the image's root filesystem (chroot)"
    fail=1
  fi
else
  echo "skip chroot start check: needs root"
fi
echo "image: $tag, OCI archive $work/isla-oci.tar ($(du -h "$work/isla-oci.tar" | cut -f1))"
echo "image: not run here: containers cannot run on this machine (hybrid cgroups v1)"
exit "$fail"
