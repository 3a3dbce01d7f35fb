# One image for every service. Each container picks its entry point, e.g.
#   docker run --rm -p 8080:8080 -e API_URL=http://api:3000 webchat-token-service dist/edge/main.js
# docker-compose.yml runs all five from this image.
#
# Pinned to the Node line the project is developed and tested on (package.json "engines"). For byte-for-byte
# reproducible builds pin the digest too: node:20.20.2-bookworm-slim@sha256:<digest>. Debian (glibc), not
# Alpine: the Temporal SDK's native core-bridge ships prebuilt binaries for glibc.

# The production build (npm run build, scripts/build.ts): the TypeScript compiled to JavaScript in dist/, and the
# workflow bundle built once, so no service compiles TypeScript and the worker starts without webpack.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 (the single-box store) is native: npm fetches its prebuilt binary, or builds it with these.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY domain ./domain
COPY lib ./lib
COPY store ./store
COPY activities ./activities
COPY workflows ./workflows
COPY worker ./worker
COPY api ./api
COPY services ./services
COPY edge ./edge
COPY admin ./admin
COPY web ./web
COPY scripts ./scripts
RUN npm run build
# What the services need at run time, native binaries included, without the compilers of this stage.
RUN npm prune --omit=dev

FROM node:20.20.2-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

WORKDIR /app

# The production dependencies of the build stage (--omit=dev drops compilers, linters and test tools), so the
# native ones are not built twice.
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules

# Only the compiled services: sources, tests, scripts, benchmarks and local data stay out of the image.
COPY --from=build /app/dist ./dist

# The data folder (SAS keys, fingerprint secret, the SQLite store when there is no DATABASE_URL) and /keys
# (SAS's shared key ring, which `docker compose run --rm sas-keys` writes with dist/scripts/rotate-keys.js) are
# the writable places; compose mounts named volumes there, which Docker seeds with these folders' owner. The code
# stays owned by root, so the unprivileged process cannot rewrite it.
RUN mkdir -p /data /keys && chown node:node /data /keys

# A container that listened on 127.0.0.1 (the laptop default) would be unreachable from its neighbours.
ENV HOST=0.0.0.0 \
    DATA_DIR=/data

# The official image's unprivileged user (uid 1000).
USER node

# edge 8080 (the only public one), API 3000, FAS 3001, SAS 3002; the worker listens on none.
EXPOSE 8080 3000 3001 3002

ENTRYPOINT ["node"]
CMD ["dist/api/main.js"]
