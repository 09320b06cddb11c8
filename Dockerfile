# payhub as a container image: built from source in one stage, run as an
# unprivileged user from a slim image in the next. The data directory (the
# embedded SQLite database, master.key, demo-merchant.json) is a volume;
# with PostgreSQL (PAYHUB_DATABASE_URL) it holds only the master key, unless
# PAYHUB_MASTER_KEY is given. See docs/DEPLOYMENT.md.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
RUN cargo build --release --locked -p payhub_server --bin payhub \
 && install -m 0755 target/release/payhub /usr/local/bin/payhub

FROM debian:bookworm-slim AS run
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 payhub \
 && useradd --system --uid 10001 --gid payhub --home-dir /var/lib/payhub --shell /usr/sbin/nologin payhub \
 && install -d -o payhub -g payhub -m 0700 /var/lib/payhub
COPY --from=build /usr/local/bin/payhub /usr/local/bin/payhub
USER payhub:payhub
WORKDIR /var/lib/payhub
VOLUME ["/var/lib/payhub"]
# MALLOC_ARENA_MAX: glibc's malloc keeps up to eight arenas per core, one
# per thread that contends, and returns little of them; two hold payhub's
# peak resident memory about a fifth lower at no cost in throughput
# (docs/PERFORMANCE.md, "Memory").
ENV PAYHUB_DATA_DIR=/var/lib/payhub \
    PAYHUB_LISTEN=0.0.0.0:8676 \
    MALLOC_ARENA_MAX=2
EXPOSE 8676
ENTRYPOINT ["/usr/local/bin/payhub"]
CMD ["serve"]
