# wasmhost IoT Edge module image. One multi-arch Dockerfile serves every platform in module.json:
# the official Node image is a manifest list (amd64, arm64v8, arm32v7), so `docker build --platform`
# (or a native build on the device's architecture) picks the right base.
ARG NODE_IMAGE=node:24-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# `npm ci` rejects this lock file on some mirrors (optional native bindings of dev tools); same versions.
RUN npm install --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    WASMHOST_DATA_DIR=/var/lib/wasmhost
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY wit ./wit
COPY vendor ./vendor
RUN mkdir -p /var/lib/wasmhost && chown node:node /var/lib/wasmhost
USER node
VOLUME ["/var/lib/wasmhost"]
# Prometheus metrics and health, the port edgeHub and edgeAgent use too.
EXPOSE 9600
CMD ["node", "dist/cli/main.js", "start"]
