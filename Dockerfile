# auth-server's image: built in the Rust image, run on Debian slim with only libpq at run time.
# Works with BuildKit and with the classic builder (no `RUN --mount`), so Debian's docker-compose
# 1.29 can build it as well as `docker compose`.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS builder

# pq-sys links the system libpq (it gives TLS to PostgreSQL); SQLite is bundled and needs only the
# C compiler the image already has.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Dependencies first, against empty sources, so this layer is rebuilt only when a manifest or the
# lockfile changes.
COPY Cargo.toml Cargo.lock ./
COPY crates/domain/Cargo.toml crates/domain/
COPY crates/application/Cargo.toml crates/application/
COPY crates/security/Cargo.toml crates/security/
COPY crates/persistence/Cargo.toml crates/persistence/
COPY crates/http/Cargo.toml crates/http/
COPY crates/server/Cargo.toml crates/server/
RUN for crate in domain application security persistence http server; do \
        mkdir -p "crates/$crate/src" && touch "crates/$crate/src/lib.rs"; \
    done \
    && echo 'fn main() {}' > crates/server/src/main.rs \
    && cargo build --release --locked --bin auth-server \
    && rm -rf crates/*/src

# The real sources, and what they embed at compile time: config/default.toml (include_str!),
# migrations/ (embed_migrations!) and crates/domain/data/ (include_str!).
COPY config/ config/
COPY migrations/ migrations/
COPY crates/ crates/
# COPY can keep the files' modification times, older than the stub build's outputs; touching the
# crate roots makes Cargo rebuild the workspace crates instead of keeping the empty stubs.
RUN touch crates/*/src/lib.rs crates/server/src/main.rs \
    && cargo build --release --locked --bin auth-server


FROM debian:bookworm-slim AS runtime

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libpq5 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 auth \
    && useradd --system --uid 10001 --gid auth --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin auth

WORKDIR /app
COPY --from=builder /build/target/release/auth-server /app/auth-server
COPY --from=builder /build/config/ /app/config/
# Only the default SQLite database (used when DATABASE_URL is not set) is written, to data/; the
# binary and config stay owned by root.
RUN mkdir /app/data && chown auth:auth /app/data

ENV AUTH_ENV=production AUTH_CONFIG_DIR=/app/config BIND_ADDRESS=0.0.0.0:8000
EXPOSE 8000

# No HEALTHCHECK here: the image has no curl, and an HTTP probe would also have to send a Host that
# ALLOWED_HOSTS accepts, which only the deployment knows. docker-compose.yml checks that the port
# accepts connections with bash's /dev/tcp, which needs no extra package.

# Numeric, so runtimes that require a non-root user can verify it.
USER 10001:10001
ENTRYPOINT ["/app/auth-server"]
CMD ["serve"]
