#!/usr/bin/env bash
# Builds the datafix image from deploy/image/Containerfile with the first container engine found
# (podman, buildah, docker), the repository as context.
#
#   deploy/image/build-image.sh [TAG]      default TAG: datafix:<version from CMakeLists.txt>
#
# Where no container engine can run, deploy/image/build-rootfs.sh builds the same root file
# system from the same package list with mmdebstrap (the tests use it).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^project(datafix VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
tag=${1:-datafix:${version:-latest}}

for engine in podman buildah docker; do
  if command -v "$engine" >/dev/null; then
    case $engine in
      buildah) exec buildah bud -f "$repo/deploy/image/Containerfile" -t "$tag" "$repo" ;;
      *) exec "$engine" build -f "$repo/deploy/image/Containerfile" -t "$tag" "$repo" ;;
    esac
  fi
done
echo "build-image: no container engine (podman, buildah, docker) found" >&2
echo "HINT: install podman, or build the root file system with deploy/image/build-rootfs.sh" >&2
exit 2
