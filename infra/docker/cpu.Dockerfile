# CPU-pool worker image: workflows and the read / mask / warp / write activities.
# Build from the repository root:
#   docker build -f infra/docker/cpu.Dockerfile -t <registry>/crop-map-cpu:<build-id> .
# No model file is baked in: inference workers fetch theirs from S3 (manifest URL + sha256).

ARG NODE_IMAGE=node:20-bookworm-slim

# --- deps: production node packages only (onnxruntime-node's CPU build is bundled; nothing downloaded)
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
# `npm install` follows the lock file (see scripts/install.sh for why not `npm ci`).
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

# --- bundle: the workflow bundle, written once here instead of at every worker start
FROM deps AS bundle
COPY . .
RUN npx tsx scripts/build-workflow-bundle.ts /app/dist/workflow-bundle.js

# --- runtime: source (run through tsx, as everywhere), packages, bundle; non-root
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    CROP_MAP_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    CROP_MAP_METRICS_PORT=9464
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=bundle --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root activities ./activities
COPY --chown=root:root infra ./infra
COPY --chown=root:root lib ./lib
COPY --chown=root:root models ./models
COPY --chown=root:root scripts ./scripts
COPY --chown=root:root workers ./workers
COPY --chown=root:root workflows ./workflows
# The node image's unprivileged user (uid 1000); the code is root-owned and read-only to it.
USER node
EXPOSE 9464
ENTRYPOINT ["node", "bin/crop-map.js", "worker"]
CMD ["--pool", "cpu"]
