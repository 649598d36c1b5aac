# ForwardOptimal container image: built with the project's own build script on Debian 12,
# run from a slim Debian 12 image holding only the runtime libraries.
#
#   docker build -t forwardoptimal .
#   docker run --rm -p 8080:8080 -v $PWD/my.json:/etc/forwardoptimal/config.json:ro forwardoptimal
# Reload: docker kill --signal HUP <container>; stop (drains sessions): docker stop -t 30 <container>

FROM debian:bookworm AS build
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake ./cmake
COPY src ./src
COPY tests ./tests
COPY scripts ./scripts
RUN FO_BUILD_TYPE=Release ./scripts/build.sh -DFO_BUILD_TESTS=OFF \
 && strip build/ForwardOptimal \
 && build/ForwardOptimal --version

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpocofoundation80 libpoconet80 libpocoutil80 libpocojson80 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin forwardoptimal
COPY --from=build /src/build/ForwardOptimal /usr/local/bin/ForwardOptimal
# A placeholder: mount your own configuration over it.
COPY etc/docker.json /etc/forwardoptimal/config.json
USER forwardoptimal
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
# The binary checks its own admin endpoint (the slim image has no curl). adminAddr must stay on
# 127.0.0.1:9090 for this, or be changed here too.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/ForwardOptimal", "--health-check=http://127.0.0.1:9090/healthz"]
# The process is PID 1 itself (exec form, no shell), so SIGTERM reaches it directly.
ENTRYPOINT ["/usr/local/bin/ForwardOptimal"]
CMD ["-c", "/etc/forwardoptimal/config.json"]
