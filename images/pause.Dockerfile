# kasset/pause:<version> — the pod sandbox ("pause") image: busybox-static and a shell loop that sleeps until
# SIGTERM/SIGINT (exit 0 at once, so pod deletion is not held up by the 30 s grace period).
# Same result as kasset/pause from `python -m kasset_tools.images`.
# Build (any context, nothing is copied from it):
#   docker build -f images/pause.Dockerfile -t kasset/pause:0.1.0 images/
FROM debian:bookworm-slim AS busybox
RUN apt-get update \
 && apt-get install -y --no-install-recommends busybox-static \
 && mkdir -p /out/bin /out/dev /out/etc /out/proc /out/sys /out/tmp \
 && chmod 1777 /out/tmp \
 && cp /bin/busybox /out/bin/busybox \
 && ln -s busybox /out/bin/sh \
 && ln -s busybox /out/bin/sleep \
 && printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > /out/etc/passwd \
 && printf 'root:x:0:\nnobody:x:65534:\n' > /out/etc/group

FROM scratch
ARG VERSION=0.1.0
COPY --from=busybox /out/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.title="kasset/pause:${VERSION}" org.opencontainers.image.version="${VERSION}"
USER 65535:65535
WORKDIR /
ENTRYPOINT ["/bin/sh", "-c", "trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait $!; done"]
