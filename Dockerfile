# wasmhost IoT Edge module image for amd64 and arm64v8 (module.json), on Node 24: the official image is
# a manifest list, so `docker build --platform` (or a native build on the device) picks the right base.
# Node 24 has no 32-bit ARM build: arm32v7 builds from Dockerfile.arm32v7, the same file on Node 22
# (test/packaging.test.ts keeps the two identical but for this line).
ARG NODE_IMAGE=node:24-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# `npm ci` rejects this lock file on some mirrors (optional native bindings of dev tools); same versions.
RUN npm install --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts/bundle.mjs ./scripts/
RUN npm run build

FROM ${NODE_IMAGE}
# jemalloc for the runner process, which preloads it where it finds it (src/runtime/runner/allocator.ts):
# it hands freed pages back to the system, where glibc kept a fragmented arena's high-water mark.
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 && rm -rf /var/lib/apt/lists/*
# The host's glibc as the runner's (src/runtime/runner/allocator.ts): two arenas (one per thread kept freed
# memory apart), and blocks of 128 KB and more mapped and unmapped (http bodies held whole: after a burst of
# 8 MB bodies the host kept 97 MB more with glibc's moving threshold, 65 with this; BENCHMARKS.md, hostile load).
ENV NODE_ENV=production \
    WASMHOST_DATA_DIR=/var/lib/wasmhost \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY wit ./wit
COPY vendor ./vendor
RUN mkdir -p /var/lib/wasmhost && chown node:node /var/lib/wasmhost
USER node
VOLUME ["/var/lib/wasmhost"]
# Prometheus metrics and health (the port edgeHub and edgeAgent use too), the local MQTT broker (TCP, WebSocket).
EXPOSE 9600 1883 9001
CMD ["node", "dist/cli/wasmhost.cjs", "start"]
