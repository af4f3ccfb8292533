# syntax=docker/dockerfile:1

# ---- build -------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /src

# rust-toolchain.toml is left out on purpose: the image's toolchain is the
# pinned release, and copying the file would make rustup download it again.
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY tests tests
COPY migrations migrations
COPY api-spec api-spec

# The registry and target directory live in BuildKit cache mounts, so a code
# change rebuilds only the workspace crates, not every dependency. The binary is
# copied out because cache mounts are not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p guild-api --bin guild \
    && install -m 0755 target/release/guild /usr/local/bin/guild

# ---- runtime -----------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates for outbound TLS; curl for the container health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system guild \
    && useradd --system --gid guild --home-dir /nonexistent --shell /usr/sbin/nologin guild

COPY --from=builder /usr/local/bin/guild /usr/local/bin/guild

USER guild
ENV GUILD_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080

# No HEALTHCHECK here: the same image also runs `guild worker`, which serves no
# HTTP. docker-compose.yml checks /readyz for the API service.
ENTRYPOINT ["/usr/local/bin/guild"]
CMD ["serve"]
