# syntax=docker/dockerfile:1
# ogcapi-k8s-manager: the OGC API – Processes server (default command) and the log finalizer controller
# (`node dist/src/controller-main.js`). Build: docker build -t ogcapi-k8s-manager:0.1.0 .
# Node 26, the current LTS, the release the tests run on (decision 0019). No native dependency: the
# embedded store is node:sqlite, so no stage needs compilers.
ARG NODE_IMAGE=node:26-bookworm-slim

FROM ${NODE_IMAGE} AS sources
WORKDIR /app
COPY package.json package-lock.json .npmrc ./

# Production dependencies only: what the runtime image gets. Optional ones are left out: the only one
# is the Node 26 binary that `npm ci` gives developers and CI (the image has its own).
FROM sources AS runtime-deps
RUN npm ci --omit=dev --omit=optional && npm cache clean --force

# The build the tests run (`npm run build`): tsc with the same sources and tsconfig (tsconfig.build.json
# leaves out test/), then the client libraries bundled in place (docs/decisions/0013).
FROM sources AS build
RUN npm ci --omit=optional
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY processes ./processes
COPY openapi ./openapi
COPY tools/bundle-clients.mjs ./tools/
RUN npx tsc -p tsconfig.build.json && node tools/bundle-clients.mjs && mkdir -p /app/data

FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="ogcapi-k8s-manager" \
      org.opencontainers.image.description="OGC API - Processes server that runs container images as Kubernetes Jobs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# A young generation of at most 8 MB per semi-space: about 45 MB less memory on Node 26 with no loss
# of throughput (decision 0011). V8 reads it only from the command line or NODE_OPTIONS.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=8 \
    HOST=0.0.0.0 \
    PORT=5000 \
    K8S_MANAGER_CONFIG=/app/server-config.yaml
WORKDIR /app
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The embedded store of local jobs (server-config.yaml: data/jobs.sqlite), writable by the user below.
COPY --from=build --chown=1000:1000 /app/data ./data
COPY package.json server-config.yaml ./
COPY processes/generic-example.env ./processes/
# The base image's unprivileged "node" user, by number so that runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 5000
CMD ["node", "dist/src/main.js"]
