# syntax=docker/dockerfile:1
# llmgate container image.
#   docker build -t llmgate .            (or: podman build / oc new-build --strategy=docker)
#   docker run -p 4000:4000 llmgate      (demo config: mock models, key sk-llmgate-demo)
# The build stage runs the same scripts a developer runs (scripts/install-deps.sh,
# scripts/build.sh): tests/deploy/dockerfile.test.mjs checks that, so the image cannot drift
# from the tested build. The runtime stage holds only the libraries the binary links
# (checked against `ldd build/llmgate` by the same test).

############################ build ############################
FROM debian:bookworm AS build
WORKDIR /src
# Dependencies first, so this layer is cached until the script or the dashboard's npm lockfile
# changes. install-deps.sh also runs `npm ci` in ui/ (the dashboard bundles uPlot from npm;
# node_modules never comes from the build context, see .dockerignore).
COPY scripts/install-deps.sh scripts/install-deps.sh
COPY ui/package.json ui/package-lock.json ui/
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN --mount=type=cache,target=/root/.cache/ccache \
    CCACHE_DIR=/root/.cache/ccache BUILD_DIR=build \
    scripts/build.sh Release -DLLMGATE_BUILD_TESTS=OFF -DLLMGATE_BUILD_BENCH=OFF \
 && strip build/llmgate \
 && ./build/llmgate --config config/demo.yaml --check-config

############################ runtime ############################
FROM debian:bookworm-slim AS runtime
# Exactly the shared libraries `ldd llmgate` resolves outside the base image (libc6,
# libstdc++6, libgcc-s1 are already in bookworm-slim), plus CA certificates for HTTPS upstreams.
# OpenSSL, SQLite and yaml-cpp are linked statically (CMakeLists.txt, LLMGATE_STATIC_DEPS);
# spdlog and fmt are compiled in (header-only).
ARG RUNTIME_PACKAGES="ca-certificates libprometheus-cpp-core1.0"
# Operator tools (~1.1 MB): the sqlite3 CLI for online backups of the ledger
# (kubectl exec ... sqlite3 /app/data/llmgate.db ".backup ..."; docs/operations.md).
ARG TOOL_PACKAGES="sqlite3"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} ${TOOL_PACKAGES} \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*

COPY --from=build /src/build/llmgate /usr/local/bin/llmgate
COPY deploy/docker/healthcheck.sh /usr/local/bin/llmgate-healthcheck
# Default config: the demo (built-in mock provider, no provider account needed). Mount your own
# LiteLLM config.yaml over /app/config.yaml, the path LiteLLM users already use.
COPY config/demo.yaml /app/config.yaml

# OpenShift runs the container with an arbitrary UID and GID 0: everything the process writes
# lives in /app/data, owned by group 0 with the owner's permissions (g=u). The config and the
# binary stay root-owned and read-only, so the root filesystem can be mounted read-only.
RUN mkdir -p /app/data \
 && chown 1001:0 /app/data && chmod 0775 /app/data && chmod g=u /app/data \
 && chmod 0644 /app/config.yaml && chmod 0755 /usr/local/bin/llmgate /usr/local/bin/llmgate-healthcheck

WORKDIR /app
USER 1001:0
ENV LLMGATE_CONFIG=/app/config.yaml
EXPOSE 4000
STOPSIGNAL SIGTERM
# Liveness only (no upstream or database work). Set LLMGATE_HEALTHCHECK_PORT if you pass --port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/llmgate-healthcheck"]
ENTRYPOINT ["llmgate"]
CMD ["--config", "/app/config.yaml"]
