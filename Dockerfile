# patgate as a container: a build stage with the Rust toolchain, and a small
# Debian runtime running as a non-root user with its data on a volume.
#
#   docker build -t patgate .
#   docker run -p 8080:8080 -v patgate-data:/var/lib/patgate \
#     -e PATGATE_ISSUER=http://localhost:8080 patgate
#
# See the README's "Deploy" section (TLS, several instances, backups).

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a source change does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches/common tests/integration \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && for b in exchange abuse fuzz_http; do echo 'fn main() {}' > benches/$b.rs; done \
 && echo 'fn main() {}' > tests/integration/main.rs \
 && cargo build --release --locked --bin patgate \
 && rm -rf src benches tests
COPY src src
COPY build.rs build.rs
COPY migrations migrations
COPY templates templates
COPY static static
COPY benches benches
COPY tests tests
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin patgate

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libssl3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/patgate --create-home patgate
COPY --from=build /src/target/release/patgate /usr/local/bin/patgate
USER patgate
WORKDIR /var/lib/patgate
ENV PATGATE_DATA_DIR=/var/lib/patgate \
    PATGATE_LISTEN=0.0.0.0:8080
VOLUME /var/lib/patgate
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD curl -fsS http://127.0.0.1:8080/readyz >/dev/null || exit 1
ENTRYPOINT ["patgate"]
CMD ["serve"]
