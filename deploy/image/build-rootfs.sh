#!/usr/bin/env bash
# Builds the datafix image's root file system from Debian 12 packages with mmdebstrap, without a
# container engine: the packages of runtime-packages.txt, then the datafix binary at
# /usr/local/bin/datafix and the volume's mount point /var/lib/datafix. It is the same file
# system the Containerfile builds, so it can be checked where containers cannot run.
#
#   deploy/image/build-rootfs.sh BINARY [CACHE_DIR]
#
# Prints the root file system's path on stdout. The packages are installed once per package list:
# the tree is kept in CACHE_DIR/<hash of runtime-packages.txt and the mmdebstrap options>
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/datafix/rootfs) and only the binary is replaced on the
# next build. Needs root (or mmdebstrap's unshare mode) and apt access to deb.debian.org.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
binary=${1:?usage: build-rootfs.sh BINARY [CACHE_DIR]}
cache=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/datafix/rootfs}
mirror=${DATAFIX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DATAFIX_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

if [[ ! -x $binary ]]; then
  echo "build-rootfs: $binary is not an executable" >&2
  exit 2
fi
command -v mmdebstrap >/dev/null || {
  echo "build-rootfs: mmdebstrap is missing" >&2
  echo "HINT: run scripts/install-deps.sh" >&2
  exit 2
}

packages=$(grep -v '^\s*#' "$here/runtime-packages.txt" | grep -v '^\s*$' | paste -sd, -)
options=(
  --variant=essential
  --include="$packages"
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --aptopt='Apt::Install-Recommends "false"'
)
key=$(printf '%s\n' "${options[@]}" "$mirror" "$security" | sha256sum | cut -c1-16)
rootfs=$cache/$key

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ ! -f $rootfs/.datafix-rootfs ]]; then
  rm -rf "$rootfs" "$rootfs.partial"
  echo "build-rootfs: building $rootfs from: $packages" >&2
  mmdebstrap --quiet "${options[@]}" bookworm "$rootfs.partial" \
    "deb $mirror bookworm main" \
    "deb $mirror bookworm-updates main" \
    "deb $security bookworm-security main" >&2
  # The image runs as an arbitrary UID in group 0 (OpenShift's restricted SCC): the volume's
  # mount point belongs to group 0, and nothing else in the tree is writable for it.
  mkdir -p "$rootfs.partial/var/lib/datafix" "$rootfs.partial/etc/datafix"
  chgrp 0 "$rootfs.partial/var/lib/datafix"
  chmod 0770 "$rootfs.partial/var/lib/datafix"
  rm -rf "$rootfs.partial/var/cache/apt/"*.bin "$rootfs.partial/var/lib/apt/lists/"*
  echo "$packages" >"$rootfs.partial/.datafix-rootfs"
  mv "$rootfs.partial" "$rootfs"
fi
# A new file renamed into place: a server still running from the old binary keeps its copy.
install -m 0755 "$binary" "$rootfs/usr/local/bin/.datafix.new"
mv -f "$rootfs/usr/local/bin/.datafix.new" "$rootfs/usr/local/bin/datafix"
echo "$rootfs"
