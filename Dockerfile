# D-SEF image: the single `dsef` binary on an empty base. One image for the edge node (the
# default) and the ESP simulator:
#   docker build -t dsef .
#   docker run --rm -p 5000:5000 dsef --promised_capacity 1000
#   docker run --rm dsef esp --bootstrap http://NODE:5000 --interval 5
# Works with the legacy builder and BuildKit alike (no RUN --mount). The final stage starts FROM
# scratch, so it needs nothing from a registry.

# Pinned to the Bun version in package.json's devDependencies (npx bun --version). Used only to
# build: the runtime is compiled into the binary.
ARG BUN_IMAGE=oven/bun:1.4.5

# ---- build: production dependencies exactly as locked, then one executable ----
FROM ${BUN_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# EXTRA_CA_CERT: PEM text of an extra root CA, only for networks whose HTTPS proxy re-signs
# traffic (CI passes it). Empty for everyone else: a no-op. It stays in this discarded stage.
ARG EXTRA_CA_CERT=""
RUN set -eu; \
    if [ -n "$EXTRA_CA_CERT" ]; then printf '%s\n' "$EXTRA_CA_CERT" > /tmp/extra-ca.pem; set -- --cafile /tmp/extra-ca.pem; fi; \
    bun install --production --frozen-lockfile --no-progress "$@"; \
    rm -f /tmp/extra-ca.pem
# .dockerignore lets in only what is compiled: package.json, tsconfig.json, src/, esp/, the build script.
COPY . .
RUN bun scripts/build-binary.ts --outfile /rootfs/usr/local/bin/dsef && rm /rootfs/usr/local/bin/dsef.sha256
# The root file system of the final image: the binary, the C libraries the Bun runtime links
# (the dynamic loader lists them; no ldd needed), a non-root user, /data for the identity key.
RUN set -eu; \
    for ld in /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1; do [ -x "$ld" ] && break; done; \
    for lib in $("$ld" --list /rootfs/usr/local/bin/dsef | grep -o '/[^ ]*') "$ld"; do \
      mkdir -p "/rootfs$(dirname "$lib")"; cp -L "$lib" "/rootfs$lib"; \
    done; \
    mkdir -p /rootfs/etc /rootfs/tmp /rootfs-data/data; \
    chmod 1777 /rootfs/tmp; chmod 0700 /rootfs-data/data; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\ndsef:x:1000:1000:dsef:/data:/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\ndsef:x:1000:\n' > /rootfs/etc/group; \
    printf 'hosts: files dns\n' > /rootfs/etc/nsswitch.conf

# ---- runtime: nothing but the binary and what it links; no shell, no package manager ----
FROM scratch
COPY --from=build /rootfs/ /
# /data for the identity key: owned by the node's user, mode 0700 (copied as an entry of its parent,
# so the directory itself gets the owner).
COPY --from=build --chown=1000:1000 /rootfs-data/ /
# auto: advertise the container's own address; listen on all interfaces; identity key in /data.
ENV PATH=/usr/local/bin \
    DSEF_IP=auto \
    DSEF_BIND=0.0.0.0 \
    DSEF_PORT=5000 \
    DSEF_DATA_DIR=/data \
    DSEF_LOG_FORMAT=json
USER 1000:1000
# HTTP API and dashboard (TCP) and SWIM gossip (UDP) share the port number.
EXPOSE 5000/tcp 5000/udp
# The binary checks its own node (GET /health on DSEF_PORT): no curl, no second runtime.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/usr/local/bin/dsef", "health"]
# Exec form: dsef is the process Docker signals, so SIGTERM makes the node leave gracefully.
# A first argument that is a flag runs the node (`docker run dsef --port 5000`); `esp`, `members`,
# `status`, `ca` and `health` run those commands.
ENTRYPOINT ["/usr/local/bin/dsef"]
CMD ["node"]
