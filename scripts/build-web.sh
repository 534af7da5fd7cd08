#!/usr/bin/env bash
# Builds the console (web/ -> web/dist) with Vite, only when its sources changed since the last
# build. The stamp file records a hash of every source file's path and content.
set -euo pipefail
cd "$(dirname "$0")/../web"

if [[ ! -d node_modules ]]; then
  echo "build-web: web/node_modules is missing; run scripts/setup.sh (make setup) first" >&2
  exit 1
fi

STAMP=dist/.bihuan-build-stamp
hash_sources() {
  {
    find src public -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum
    sha256sum index.html portal.html vite.config.js package.json package-lock.json
  } | sha256sum | cut -d' ' -f1
}

want=$(hash_sources)
if [[ -f "$STAMP" && -f dist/index.html && -f dist/portal.html ]] && [[ "$(cat "$STAMP")" == "$want" ]]; then
  echo "build-web: web/dist is up to date"
  exit 0
fi
echo "build-web: building the console"
npm run build --silent
echo "$want" >"$STAMP"
echo "build-web: web/dist ready"
