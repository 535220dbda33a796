# D-SEF image: one image for the edge node (default) and the ESP simulator.
#   docker build -t dsef .
#   docker run --rm -p 5000:5000 dsef --promised_capacity 1000
#   docker run --rm --entrypoint bun dsef esp/simulator.ts --bootstrap http://NODE:5000 --interval 5
# Works with the legacy builder and BuildKit alike (no RUN --mount).

# Pinned to the Bun version in package.json's devDependencies (npx bun --version).
ARG BUN_IMAGE=oven/bun:1.3.5

# ---- production dependencies, exactly as locked ----
FROM ${BUN_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# EXTRA_CA_CERT: PEM text of an extra root CA, only for networks whose HTTPS proxy re-signs
# traffic (CI passes it). Empty for everyone else: a no-op. It stays in this discarded stage.
ARG EXTRA_CA_CERT=""
RUN set -eu; \
    if [ -n "$EXTRA_CA_CERT" ]; then printf '%s\n' "$EXTRA_CA_CERT" > /tmp/extra-ca.pem; set -- --cafile /tmp/extra-ca.pem; fi; \
    bun install --production --frozen-lockfile --no-progress "$@"; \
    rm -f /tmp/extra-ca.pem

# ---- runtime ----
FROM ${BUN_IMAGE}
WORKDIR /app
# auto: advertise the container's own address; listen on all interfaces; identity key in /data.
ENV NODE_ENV=production \
    DSEF_IP=auto \
    DSEF_BIND=0.0.0.0 \
    DSEF_PORT=5000 \
    DSEF_DATA_DIR=/data \
    DSEF_LOG_FORMAT=json
COPY --from=deps /app/node_modules ./node_modules
# .dockerignore lets in only what runs: package.json, tsconfig.json, src/, esp/, docker/.
COPY . .
RUN mkdir -p /data && chown bun:bun /data && chmod 0700 /data
USER bun
# HTTP API and dashboard (TCP) and SWIM gossip (UDP) share the port number.
EXPOSE 5000/tcp 5000/udp
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["bun", "docker/healthcheck.ts"]
# Exec form: bun is the process Docker signals, so SIGTERM makes the node leave gracefully.
ENTRYPOINT ["bun", "src/main.ts"]
