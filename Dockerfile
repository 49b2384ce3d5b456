# kedge: one image for the controller, the autoscaler and the gateway (the first argument picks
# the component: `controller`, `autoscaler`, `gateway`; see deploy/).
#   docker build -t kedge.local/kedge:0.1.0 .
#
# Node 20 on purpose: the uWebSockets.js binaries in @trufflesuite/uws-js-unofficial exist for
# Node 20's ABI (115); on another major the gateway falls back to its slower node:http front end.

# ---- build: all dependencies, compile TypeScript into dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the package's `prepare` script runs tsc, which needs the sources copied below;
# no dependency needs an install script (uWS ships prebuilt binaries, and ws falls back to plain
# JavaScript without bufferutil/utf-8-validate).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build \
  && find dist -name '*.tsbuildinfo' -delete \
  && find dist \( -name '*.test.js' -o -name '*.test.js.map' -o -name '*.bench.js' -o -name '*.bench.js.map' \) -delete

# ---- runtime: production dependencies and the compiled code only ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# Only what the kedge command loads: no tests, benchmarks or build info.
COPY --from=build /src/dist/lib ./dist/lib
COPY --from=build /src/dist/gateway ./dist/gateway
COPY --from=build /src/dist/autoscaler ./dist/autoscaler
COPY --from=build /src/dist/controller ./dist/controller
COPY --from=build /src/dist/cli ./dist/cli
COPY --from=build /src/dist/dashboard ./dist/dashboard
# The node image's unprivileged user, by number: Kubernetes' runAsNonRoot can only verify a
# numeric USER.
USER 1000:1000
EXPOSE 8080 8081 8082 9090
# lib/node-flags.ts: a 1 MB young generation keeps the gateway's GC pauses out of its p99.
ENTRYPOINT ["node", "--max-semi-space-size=1", "--heap-growing-percent=50", "--gc-memory-reducer-start-delay-ms=60000", "dist/cli/kedge.js"]
CMD ["--help"]
