# Textbird image: built in a Rust image, run from a small Debian one as a non-root user.
#   podman build -t textbird .        (or scripts/image, which also reports the size)
#   podman run -p 8080:8080 -p 2775:2775 -v textbird-data:/data textbird
# The first start prints the admin account's credentials once (podman logs).

FROM docker.io/library/rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p textbird \
 && strip target/release/textbird \
 && cp target/release/textbird /textbird

FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin textbird \
 && install -d -o textbird -g textbird -m 0700 /data
COPY --from=build /textbird /usr/local/bin/textbird
USER textbird
WORKDIR /data
ENV TEXTBIRD_DATA_DIR=/data \
    TEXTBIRD_HTTP__LISTEN=0.0.0.0:8080 \
    TEXTBIRD_SMPP_SERVER__LISTEN=0.0.0.0:2775
VOLUME ["/data"]
EXPOSE 8080 2775
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/textbird"]
CMD ["serve"]
