# cycle-claimer: the gRPC server, cyclectl and the C++ example finalizer on
# Debian 12, configured by environment variables only (server --help lists
# them: DATABASE_URL, LISTEN_ADDRESS, PLAINTEXT or TLS_CERT/TLS_KEY, ...).
#
#   docker build -t cycle-claimer .
#   docker run -e DATABASE_URL=postgresql://... -e PLAINTEXT=true -p 50051:50051 cycle-claimer
#
# scripts/check-container.sh carries out these same steps in debootstrapped
# Debian 12 roots, on machines without a Docker engine.

FROM debian:bookworm AS build

# The package list lives in one place. It also brings PostgreSQL, pgbouncer
# and Node.js for the tests and tools, which this stage does not use.
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*

COPY . /src
WORKDIR /src
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && cmake --build /build -j "$(nproc)" \
      --target cycle-claimer-server cyclectl example_finalizer \
 && mkdir -p /out \
 && cp /build/server/cycle-claimer-server /build/client/cpp/cyclectl \
      /build/client/cpp/example_finalizer /out/ \
 && strip /out/*

FROM debian:bookworm-slim

# The shared libraries the binaries link (readelf -d), by Debian 12 package.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libabsl20220623 libcpp-httplib0.11 libfmt9 libgrpc++1.51 libgrpc29 \
      libpqxx-6.4 libprotobuf32 libspdlog1.10 libssl3 \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 cycle-claimer \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent \
      --no-create-home --shell /usr/sbin/nologin cycle-claimer

COPY --from=build /out/ /usr/local/bin/

# Numeric, so that Kubernetes' runAsNonRoot can verify it without runAsUser.
USER 10001:10001
WORKDIR /

# Only a default the health check below follows; PLAINTEXT or TLS_CERT and
# TLS_KEY must be given: the server refuses to guess.
ENV LISTEN_ADDRESS=0.0.0.0:50051
EXPOSE 50051 9464

# grpc.health.v1 over plaintext on the port of LISTEN_ADDRESS; open without
# a token. Under TLS, override it (cyclectl --tls_ca=... health).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD cyclectl --server="localhost:${LISTEN_ADDRESS##*:}" health || exit 1

ENTRYPOINT ["cycle-claimer-server"]
