# One image for every service. Each container picks its entry point, e.g.
#   docker run --rm -p 8080:8080 -e API_URL=http://api:3000 webchat-token-service edge/main.ts
# docker-compose.yml runs all five from this image.
#
# Pinned to the Node line the project is developed and tested on (package.json "engines"). For byte-for-byte
# reproducible builds pin the digest too: node:20.20.2-bookworm-slim@sha256:<digest>. Debian (glibc), not
# Alpine: the Temporal SDK's native core-bridge ships prebuilt binaries for glibc.
FROM node:20.20.2-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

WORKDIR /app

# Dependencies first, so this layer is rebuilt only when the lockfile changes. tsx is a runtime dependency
# (the services run their TypeScript directly), so --omit=dev keeps it and drops only compilers, linters and
# test tools.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# Only what the services run: tests, scripts, benchmarks and local data stay out of the image. The worker
# bundles workflows/ (and what it imports from lib/) at start, so the sources are needed at runtime.
COPY tsconfig.json ./
COPY domain ./domain
COPY lib ./lib
COPY store ./store
COPY activities ./activities
COPY workflows ./workflows
COPY worker ./worker
COPY api ./api
COPY services ./services
COPY edge ./edge
# `docker compose run --rm sas-keys`: creates and rotates SAS's key ring (npm run rotate-keys).
COPY scripts/rotate-keys.ts ./scripts/rotate-keys.ts

# The data folder (SAS keys, fingerprint secret, embedded account store) and /keys (SAS's shared key ring) are
# the writable places; compose mounts named volumes there, which Docker seeds with these folders' owner. The
# sources stay owned by root, so the unprivileged process cannot rewrite its own code.
RUN mkdir -p /data /keys && chown node:node /data /keys

# A container that listened on 127.0.0.1 (the laptop default) would be unreachable from its neighbours.
ENV HOST=0.0.0.0 \
    DATA_DIR=/data

# The official image's unprivileged user (uid 1000).
USER node

# edge 8080 (the only public one), API 3000, FAS 3001, SAS 3002; the worker listens on none.
EXPOSE 8080 3000 3001 3002

ENTRYPOINT ["node", "--import", "tsx"]
CMD ["api/main.ts"]
