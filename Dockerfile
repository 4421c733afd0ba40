# syntax=docker/dockerfile:1
# Anime Universe Chat server image. The release binary embeds the page and
# its default configuration, so the runtime image holds one file of ours.
#
#   docker build -t anime-chat:local .
#   docker run --rm -p 127.0.0.1:8003:8003 -e KAFKA_BOOTSTRAP_SERVERS=... anime-chat:local

# --- build -------------------------------------------------------------------
FROM rust:1-bookworm AS builder

# rdkafka builds librdkafka from its bundled source with its own ./configure
# and make (no cmake): a C toolchain, python3 (librdkafka's Makefile and
# linker-script generator), and zlib headers found through pkg-config for the
# libz feature. The rust image has most of these; naming them keeps the build
# working if it stops doing so. Unpinned (DL3008): bookworm's security updates
# replace exact versions, and a pinned version would then fail to install.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config python3 zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Cache mounts keep the crate downloads and compiled dependencies between
# builds (BuildKit), so a source change recompiles only this workspace. The
# binary is copied out because the target cache is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin anime-chat \
 && install -m 0755 target/release/anime-chat /usr/local/bin/anime-chat

# --- run ---------------------------------------------------------------------
FROM debian:bookworm-slim

# zlib1g: librdkafka links the system zlib. curl: the compose healthcheck.
# ca-certificates: a trust store, for when TLS to the broker is switched on
# (rdkafka's ssl feature).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl zlib1g \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 chat \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin chat

COPY --from=builder /usr/local/bin/anime-chat /usr/local/bin/anime-chat

# Numeric, so that a runtime that requires a non-root user can verify it.
USER 10001:10001
ENV CHAT_ADDR=0.0.0.0:8003 \
    RUST_LOG=info
EXPOSE 8003
CMD ["anime-chat"]
