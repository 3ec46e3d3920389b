# syntax=docker/dockerfile:1
#
# WhatsApp Pro, production image (docs/deploy.md):
#   docker build -t whatsapp-pro .
#   docker run --init --env-file .env -p 3000:3000 whatsapp-pro
#
# The same commands as the plain-node path (npm ci → npm run build → npm prune --omit=dev →
# NODE_ENV=production node server/launch.mjs start), which CI runs; this file only splits them
# into a build stage with the devDependencies and a small final stage without them.
#
# Point DATABASE_URL at a managed PostgreSQL: the embedded one (used when DATABASE_URL is unset)
# is a native binary from an optional dependency, keeps its data inside the container (.data/pg)
# and has no backups; it is for trying the app out, not for a deployment.

# ---- build: all dependencies, the Remix build and the compiled server, then only prod deps left
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so this layer is reused until package*.json change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- final: what `node server/launch.mjs start` reads, nothing else (no sources, no tsx, no tests)
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    WA_DATA_DIR=/app/.data
WORKDIR /app
# Owned by root, read-only for the app user: the process cannot rewrite its own code.
# package.json: "type": "module" for build/server/*.js, and the marker the server finds its root by.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
# build/index.js (Remix server build) and build/server/*.js (entry points compiled by esbuild).
COPY --from=build /app/build ./build
# public/build (hashed browser assets) and public/favicon.svg, served by express.
COPY --from=build /app/public ./public
# COPY keeps modification times: launch.mjs stays older than build/, as the start's staleness
# check (server/build.ts, which looks at server/ too) requires.
COPY --from=build /app/server/launch.mjs ./server/launch.mjs
# The one writable place: the start writes $WA_DATA_DIR/pg-password (and, without DATABASE_URL,
# the embedded PostgreSQL's data). Mount a volume here only if you use the embedded database.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
# /healthz answers while the process serves; slim images have no curl, so node asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 (not npm), so SIGTERM from `docker stop` reaches the server's shutdown.
CMD ["node", "server/launch.mjs", "start"]
