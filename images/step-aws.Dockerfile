# syntax=docker/dockerfile:1
# kasset/step-aws:<version> — kasset/step-python (Debian bookworm + python3, user 1000:1000, the dependency-free
# `kasset.sdk`) plus boto3 and its dependencies, pinned in sources/sqs/requirements.txt: for step code that reads
# and writes S3. Same content as kasset/step-aws from `python -m kasset_tools.images`.
# Build from the repository root (BuildKit):
#   docker build -f images/step-aws.Dockerfile -t kasset/step-aws:0.1.0 .
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip ca-certificates
RUN --mount=type=bind,source=sources/sqs/requirements.txt,target=/tmp/requirements.txt \
    pip3 install --no-cache-dir --no-warn-script-location --no-compile --only-binary=:all: \
         --target /out/site -r /tmp/requirements.txt \
 && mkdir -p /out/site/bin && mv /out/site/bin /out/bin

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
# operator/kasset/sdk.py or operator/kasset/sdk/ — whichever exists.
RUN --mount=type=bind,source=operator/kasset,target=/tmp/kasset-src \
    set -eu; d=/usr/local/lib/python3.11/dist-packages/kasset; mkdir -p "$d"; : > "$d/__init__.py"; \
    cp -r /tmp/kasset-src/sdk* "$d/"; \
    find "$d" \( -name __pycache__ -o -name '*.pyc' \) -prune -exec rm -rf {} +; \
    python3 -m compileall -q /usr/local/lib/python3.11/dist-packages
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
LABEL org.opencontainers.image.title="kasset/step-aws:${VERSION}" org.opencontainers.image.version="${VERSION}"
USER 1000:1000
WORKDIR /home/kasset
CMD ["python3"]
