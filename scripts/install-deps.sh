#!/usr/bin/env bash
# Installs every Debian package datafix needs to build, test and benchmark.
# Idempotent: packages already present are left alone. Run as root on Debian 12.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git clang-format clang-tidy ninja-build ccache mold
  libpq-dev libpqxx-dev libpg-query-dev libprotobuf-c-dev
  libsqlite3-dev libsqlitecpp-dev
  libcpp-httplib-dev libmicrohttpd-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
  libsodium-dev libcurl4-openssl-dev libcjose-dev libjansson-dev libspdlog-dev libfmt-dev
  libgtest-dev googletest libssl-dev openssl
  postgresql-15 postgresql-client-15
  python3 python3-aiosmtpd
  chromium chromium-driver
  wrk procps util-linux
  mmdebstrap python3-yaml
  afl++
)

# The browser tests run playwright-core under node; Debian's nodejs and npm unless a node with
# npm is already installed (e.g. from another repository).
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

# The manifest tests render deploy/kubernetes with `kubectl kustomize`: Debian's kubernetes-client
# (kubectl 1.20, kustomize v2.0.3) unless a kubectl is already installed.
if ! command -v kubectl >/dev/null 2>&1; then
  packages+=(kubernetes-client)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "HINT: run this script as root (it uses apt-get)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The postgresql package would create and start a cluster of its own; datafix's tests start
# throwaway clusters themselves, so the Debian default cluster is not wanted.
mkdir -p /etc/postgresql-common
if [[ ! -f /etc/postgresql-common/createcluster.conf ]] || ! grep -q '^create_main_cluster = false' /etc/postgresql-common/createcluster.conf; then
  echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
