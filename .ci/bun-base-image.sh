#!/usr/bin/env bash
# Make sure the base image the Dockerfile pins (oven/bun:<version>) exists in the local engine.
# With registry access it is pulled; without (CI here), an offline stand-in is built and tagged
# with the same name: the bun binary from the npm `bun` package, the glibc libraries it links,
# a static busybox (sh, grep, cp... for the build stage's RUN steps), a `bun` user (uid 1000)
# and the official image's workdir, env and entrypoint. The Dockerfile is unchanged. Only the
# Dockerfile's build stage uses this image; its final stage is FROM scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
image=$(sed -n 's/^ARG BUN_IMAGE=//p' Dockerfile)
[ -n "$image" ] || { echo "no ARG BUN_IMAGE in Dockerfile" >&2; exit 1; }

if docker image inspect "$image" >/dev/null 2>&1; then echo "base image $image: present"; exit 0; fi
if timeout 60 docker pull -q "$image" >/dev/null 2>&1; then echo "base image $image: pulled"; exit 0; fi

bun=$(readlink -f node_modules/.bin/bun)
want=${image##*:}
have=$("$bun" --version)
[ "$have" = "$want" ] || echo "warning: npm bun is $have, image tag is $want" >&2
busybox=$(command -v busybox)
file -L "$busybox" 2>/dev/null | grep -q "statically linked" || { echo "need a static busybox (apt-get install busybox-static)" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,etc,tmp,root,home/bun/app,lib64}
chmod 1777 "$root/tmp"
install -m 0755 "$bun" "$root/usr/local/bin/bun"
ln -s bun "$root/usr/local/bin/bunx"
# The dynamic loader and every library bun links, at the same paths.
for lib in $(ldd "$bun" | grep -Eo '/[^ ]+'); do cp --parents -L "$lib" "$root"; done
install -m 0755 "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
ln -s /bin/env "$root/usr/bin/env"
cat >"$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
bun:x:1000:1000::/home/bun:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat >"$root/etc/group" <<'G'
root:x:0:
bun:x:1000:
nogroup:x:65534:
G
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'S'
#!/bin/sh
set -e
# Same rule as the official image: a first argument that is a flag or not a command goes to bun.
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ]; then
  set -- /usr/local/bin/bun "$@"
fi
exec "$@"
S
chmod 0755 "$root/usr/local/bin/docker-entrypoint.sh"
chown -R 1000:1000 "$root/home/bun"

tar --numeric-owner -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV BUN_RUNTIME_TRANSPILER_CACHE_PATH=0' \
  --change 'ENV BUN_INSTALL_BIN=/usr/local/bin' \
  --change 'WORKDIR /home/bun/app' \
  --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
  --change 'CMD ["/usr/local/bin/bun"]' \
  --message "offline stand-in for $image (bun $have, glibc, busybox)" \
  - "$image" >/dev/null
echo "base image $image: offline stand-in built ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
