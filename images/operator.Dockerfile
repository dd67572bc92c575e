# syntax=docker/dockerfile:1
# kasset/operator:<version> — Debian bookworm + python3 + the kasset package and its pinned runtime dependencies
# (from PyPI), user 1000:1000, running `kopf run --standalone -m kasset.handlers --all-namespaces`.
# Same content as kasset/operator from `python -m kasset_tools.images`.
# Build from the repository root (BuildKit):
#   docker build -f images/operator.Dockerfile -t kasset/operator:0.1.0 .
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip ca-certificates
# A writable throw-away view of the repository: setuptools writes build/ and *.egg-info there.
RUN --mount=type=bind,target=/src,rw \
    set -eu; cd /src; [ -f README.md ] || : > README.md; \
    pip3 install --no-cache-dir --no-warn-script-location --target /out/site . ; \
    mv /out/site/bin /out/bin

FROM debian:bookworm-slim
ARG VERSION=0.1.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log \
 && groupadd -g 1000 kasset \
 && useradd -u 1000 -g 1000 -m -d /home/kasset -s /bin/bash -c Kasset kasset \
 && find / -xdev -type f -perm /6000 -exec chmod ug-s {} +
COPY --from=build /out/site/ /usr/local/lib/python3.11/dist-packages/
COPY --from=build /out/bin/ /usr/local/bin/
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
LABEL org.opencontainers.image.title="kasset/operator:${VERSION}" org.opencontainers.image.version="${VERSION}"
USER 1000:1000
WORKDIR /home/kasset
ENTRYPOINT ["/usr/local/bin/kopf"]
CMD ["run", "--standalone", "-m", "kasset.handlers", "--all-namespaces"]
