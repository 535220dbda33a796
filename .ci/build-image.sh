#!/usr/bin/env bash
# Build the project image for tests and CI: bash .ci/build-image.sh [TAG]   (default dsef:test)
# Makes sure the pinned base image exists (offline stand-in if it cannot be pulled), and passes
# any locally added root CAs (/usr/local/share/ca-certificates, e.g. a proxy that re-signs
# HTTPS) to the in-image `bun install` through the EXTRA_CA_CERT build arg. On an ordinary
# machine there are none and the build is a plain `docker build .`.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-dsef:test}
bash .ci/bun-base-image.sh >&2
ca=""
for f in ${DSEF_BUILD_CA_FILE:-} /usr/local/share/ca-certificates/*.crt; do
  [ -f "$f" ] && ca+="$(cat "$f")"$'\n'
done
if [ -n "$ca" ]; then
  docker build -q --force-rm -t "$tag" --build-arg EXTRA_CA_CERT="$ca" . >&2
else
  docker build -q --force-rm -t "$tag" . >&2
fi
echo "$tag"
