# Inference-pool worker image for NVIDIA GPU nodes: CUDA 12 + cuDNN 9 runtime (glibc, Ubuntu),
# Node 20, onnxruntime-node's CUDA 12 execution provider.
# Build from the repository root:
#   docker build -f infra/docker/gpu.Dockerfile -t <registry>/crop-map-gpu:<build-id> .
# No model file is baked in: set CROP_MAP_PRELOAD_MODELS and the model's manifest (s3:// URL and
# sha256); the worker fetches and checks it at start, before it polls.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04
# onnxruntime-node's install flag: cuda12 fetches the CUDA 12 provider libraries from nuget.org.
# `crop-map images build` passes skip, with a CPU base in place of CUDA_IMAGE, where nuget.org
# cannot be reached: every other step of this file is built as it is on a GPU host.
ARG ORT_INSTALL=cuda12

# --- node: Node 20 itself, copied onto the CUDA base (official binaries need glibc >= 2.28; 22.04 has 2.35)
FROM ${NODE_IMAGE} AS node

FROM ${CUDA_IMAGE} AS cuda-node
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version

# --- deps: production packages, with onnxruntime-node's CUDA 12 provider libraries
FROM cuda-node AS deps
ARG ORT_INSTALL
WORKDIR /app
COPY package.json package-lock.json ./
RUN ONNXRUNTIME_NODE_INSTALL=${ORT_INSTALL} npm install --omit=dev --no-audit --no-fund && npm cache clean --force

# --- bundle: the workflow bundle (unused by a pure inference worker, kept so the image can run any pool)
FROM deps AS bundle
COPY . .
RUN npx tsx scripts/build-workflow-bundle.ts /app/dist/workflow-bundle.js

# --- runtime: non-root
FROM cuda-node AS runtime
WORKDIR /app
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /tmp --shell /usr/sbin/nologin crop-map
ENV NODE_ENV=production \
    CROP_MAP_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    CROP_MAP_INFERENCE_DEVICE=cuda \
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
USER 10001:10001
EXPOSE 9464
ENTRYPOINT ["node", "bin/crop-map.js", "worker"]
CMD ["--pool", "inference"]
