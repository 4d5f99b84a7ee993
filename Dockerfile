# The gateway's image: compiled JavaScript on node:20-slim, run as the unprivileged `node` user.
# One image for every role: ROLE=api (HTTP), ROLE=worker (queue workers), ROLE=all (both).
#   docker build -t wa-agent-gateway .
#   docker run -e ROLE=api -e DATABASE_URL=... -e REDIS_URL=... -e MASTER_KEY=... -p 3000:3000 wa-agent-gateway
# Not built by CI here (no registry access on the CI machine): see docker-compose.yml and
# deploy/kubernetes.md.

ARG NODE_IMAGE=node:20-slim

# 1. Every dependency, exactly as locked (the build needs the dev ones: TypeScript, types).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# swagger-ui-dist pulls in @scarf/scarf, which reports installs unless told not to.
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund

# 2. tsc -p tsconfig.build.json: src/ and workers/ to dist/ (fails on a type error).
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
RUN npm run build

# 3. Runtime dependencies only.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 4. The image that runs.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    REDIS_AUTOSTART=false
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Read at run time: the SQL migrations (applied at start) and the static files of the agent
# console and the sandbox page (test/deploy/image-layout.test.ts starts this stage's layout).
COPY supabase ./supabase
COPY src/http/console ./src/http/console
COPY src/http/sandbox ./src/http/sandbox
# DATA_DIR: media on local disk (without Supabase Storage), a generated master key outside
# production, the embedded database when DATABASE_URL is unset (one process only).
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 3000
# /readyz checks the database, Redis and migrations. A worker (ROLE=worker) has no API port:
# give it METRICS_PORT and the check goes there (the metrics listener serves /readyz too).
HEALTHCHECK --interval=15s --timeout=5s --start-period=40s --retries=3 \
  CMD ["node", "-e", "const p=process.env.METRICS_PORT||process.env.PORT||3000;fetch('http://127.0.0.1:'+p+'/readyz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and handles SIGTERM itself: in-flight requests and jobs get SHUTDOWN_TIMEOUT_MS.
CMD ["node", "dist/src/main.js"]
