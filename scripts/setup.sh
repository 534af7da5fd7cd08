#!/usr/bin/env bash
# Installs what bihuan needs on a Debian 12 machine (run as root). Idempotent: only missing
# Debian packages are installed, and npm modules only when their lock file changed.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-system-dev libsqlite3-dev sqlite3 libpq-dev postgresql
  nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libsodium-dev libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  nodejs npm chromium fonts-wqy-microhei wrk nginx-light curl time
  libopenmpi-dev openmpi-bin libxlsxwriter-dev libgoogle-perftools-dev
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node may come from elsewhere than Debian (it does on the build machines): accept any node >= 18.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then echo "setup: run as root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm_ci() { # dir
  local dir=$1 stamp=$1/node_modules/.bihuan-lock
  if [[ ! -f "$stamp" ]] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    echo "setup: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
  fi
}
npm_ci data/divisions
[[ -f web/package-lock.json ]] && npm_ci web
exit 0
