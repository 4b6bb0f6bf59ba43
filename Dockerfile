# Quarry images: one image with the four binaries (quarry-intake, quarry-consumer,
# quarry-emulator, quarry) for every Quarry service in docker-compose.yml.
#
#   docker build -t quarry:dev .
#
# Build stage: the same Debian 12 development packages as scripts/deps.sh, and the same
# `make` that developers run. libcmocka-dev is only for the unit tests, but the Makefile checks
# for it with pkg-config before it builds anything.
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config \
      librdkafka-dev libcurl4-openssl-dev libjansson-dev libpq-dev libmicrohttpd-dev libssl-dev \
      libcmocka-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" all \
 && test -x build/quarry-intake && test -x build/quarry-consumer \
 && test -x build/quarry-emulator && test -x build/quarry

# Runtime stage: only the shared libraries the binaries link, CA certificates (HTTPS to real
# Bedrock) and curl (container health checks).
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librdkafka1 libcurl4 libjansson4 libpq5 libmicrohttpd12 libssl3 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin quarry
COPY --from=build /src/build/quarry-intake /src/build/quarry-consumer /src/build/quarry-emulator /src/build/quarry /usr/local/bin/
COPY migrations /app/migrations
WORKDIR /app
USER quarry
# Every daemon reads its configuration from the environment (see deploy/stack.env).
CMD ["quarry-intake"]
