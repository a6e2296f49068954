# stream-replicator container image.
#
#   docker build -t stream-replicator:0.1.0 .
#   docker run --rm -v "$PWD/sr.yaml:/etc/stream-replicator/sr.yaml:ro" -p 9180:9180 stream-replicator:0.1.0
#   docker run --rm -v "$PWD/sr.yaml:/etc/stream-replicator/sr.yaml:ro" stream-replicator:0.1.0 --validate
#
# Arguments after the image name are the replicator's own flags (--validate, --topic NAME, ...).
# test/integration/container.test.ts builds and runs this file under a real Docker engine
# (scripts/container-stack.sh); scripts/check-container.sh lints it.
#
# Stages: build (every dependency, TypeScript compiled), deps (production dependencies only),
# traffic (compose's demo traffic generator) and runtime, the image itself (the last stage, what
# `docker build .` gives).

# ---------------------------------------------------------------------------------------------
# Build: all dependencies, TypeScript compiled to dist/ (dist/src/main.js and dist/package.json).
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---------------------------------------------------------------------------------------------
# Production dependencies: the build stage's tree (from the lockfile) without devDependencies;
# `npm ls` fails the build if one is missing (npm can exit 0 after failed requests).
FROM build AS deps
RUN npm prune --omit=dev --no-audit --no-fund \
    && npm ls --omit=dev > /dev/null

# ---------------------------------------------------------------------------------------------
# The traffic generator of `docker compose --profile demo up` (examples/compose/traffic.mjs). It
# needs node-nats-streaming, a devDependency (the tests' independent STAN client) that the
# runtime image must not carry, so it runs on the build stage, whose dependencies are complete
# and pinned by the same lockfile: no second install, no second lockfile to keep in step. A
# demo-only image; never shipped.
FROM build AS traffic
COPY examples/compose/traffic.mjs ./examples/traffic.mjs
USER 1000:1000
# node as PID 1: traffic.mjs handles SIGTERM and SIGINT itself and starts no child processes.
ENTRYPOINT ["node", "/app/examples/traffic.mjs"]

# ---------------------------------------------------------------------------------------------
# Runtime: Debian slim with the Node binary, tini, production dependencies and dist/ only, as
# the unprivileged `node` user (uid 1000). Not the node image: its npm, yarn, corepack and C
# headers (60 MB of the image) are of no use to a process that only runs dist/src/main.js.
FROM debian:bookworm-slim AS runtime

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="stream-replicator" \
      org.opencontainers.image.description="Replicates NATS Streaming (STAN) channels from a source cluster to a target cluster, with sampling, advisories and Prometheus metrics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"

# tini as PID 1: forwards SIGTERM/SIGINT to node (which then drains and exits 0) and reaps zombies.
# The `node` user and group as in the node image (uid/gid 1000), without a home or a shell.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 node \
    && useradd --uid 1000 --gid node --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin node \
    && mkdir -p /etc/stream-replicator /var/lib/stream-replicator \
    && chown 1000:1000 /var/lib/stream-replicator

# The Node binary of the build stage's image (the same Node 20 that built dist/); it needs only
# glibc, libstdc++ and libgcc, which the slim image has.
COPY --from=build /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# The configuration is mounted at SR_CONFIG; limiter/advisor state is kept in SR_STATE_DIR.
# Both variables beat the YAML file (environment > YAML), so this layout holds for any config.
ENV SR_CONFIG=/etc/stream-replicator/sr.yaml \
    SR_STATE_DIR=/var/lib/stream-replicator
VOLUME ["/var/lib/stream-replicator"]

# The `node` user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 9180

# Liveness, without curl (the slim image has none): /livez answers 200 while the event loop runs.
# A replicator listening elsewhere than 9180 must say so in SR_HTTP_PORT for this check to find it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "require('http').get({host:'127.0.0.1',port:process.env.SR_HTTP_PORT||9180,path:'/livez',timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"]

# Node flags: src/cli/node-flags.ts (a smaller young generation: less memory, same speed).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=8", "/app/dist/src/main.js"]
