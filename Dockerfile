# syntax=docker/dockerfile:1
# wagw in a container: docs/install.md ("Container"). Build from the repository root:
#   docker build -t wagw .
#   docker run -d --name wagw -p 127.0.0.1:7420:7420 -e WAGW_TOKEN="$(openssl rand -hex 32)" \
#     -v wagw-data:/var/lib/wagw wagw

# ---- build: the release binary, with the toolchain rust-toolchain.toml pins.
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p wagw \
 && install -D -m 0755 target/release/wagw /out/wagw \
 && /out/wagw completions bash > /out/wagw.bash \
 && /out/wagw man > /out/wagw.1

# ---- runtime: Debian slim, ffmpeg for voice notes and GIFs, no compiler, no root.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 wagw \
 && useradd --system --uid 10001 --gid wagw --home-dir /var/lib/wagw --shell /usr/sbin/nologin wagw \
 && install -d -o wagw -g wagw -m 0700 /var/lib/wagw
COPY --from=build /out/wagw /usr/local/bin/wagw
COPY --from=build /out/wagw.bash /usr/share/bash-completion/completions/wagw
COPY --from=build /out/wagw.1 /usr/local/share/man/man1/wagw.1
COPY packaging/docker/wagw.json5 /etc/wagw/wagw.json5
# The container listens on every interface; wagw refuses to start that way unless the
# operator set a token (WAGW_TOKEN or gateway.token), so an image run without one fails
# with a message saying so instead of serving an open API.
ENV WAGW_CONFIG=/etc/wagw/wagw.json5 \
    WAGW_DATA_DIR=/var/lib/wagw
USER 10001:10001
VOLUME ["/var/lib/wagw"]
EXPOSE 7420
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7420 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && grep -q '\"ok\":true' <&3"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--", "wagw"]
CMD ["gateway", "--log-format", "json"]
