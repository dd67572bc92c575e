#!/usr/bin/env bash
# Downloads the SQS-compatible (ElasticMQ) and S3-compatible (S3Proxy) servers that tests and examples run,
# from Maven Central into the cache, with a Maven repository of our own ($cache/m2). Runs nothing, installs
# nothing system-wide; `python -m kasset_tools.servers` starts them. Idempotent: a second call only checks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${KASSET_CACHE:-$HOME/.cache/kasset}
mvn_opts=(-q -B -Dstyle.color=never "-Dmaven.repo.local=$cache/m2")
# Java 17 and Maven come with this kind of machine; from Debian's packages where they do not.
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  echo "apt: installing openjdk-17-jre-headless maven"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless maven >/dev/null
fi

# mvn, quiet on success (Maven 3.8's -q still prints colour resets); its output, uncoloured, on failure
run_mvn() {
  local log
  log=$(mktemp)
  if ! mvn "${mvn_opts[@]}" "$@" >"$log" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}

# ElasticMQ: the server and every jar on its classpath, copied flat into one folder (`java -cp 'DIR/*'`).
install_elasticmq() {
  local dest="$cache/jars/elasticmq-$ELASTICMQ_VERSION"
  [ -f "$dest/.done" ] && { echo "elasticmq $ELASTICMQ_VERSION: cached in $dest"; return; }
  rm -rf "$dest"
  mkdir -p "$dest"
  # kept next to the jars as a record of where they came from; `java -cp 'DIR/*'` reads only *.jar
  cat > "$dest/classpath-pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.kasset</groupId>
  <artifactId>elasticmq-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.elasticmq</groupId>
      <artifactId>elasticmq-server_2.13</artifactId>
      <version>$ELASTICMQ_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  run_mvn -f "$dest/classpath-pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime "-DoutputDirectory=$dest"
  ls "$dest"/elasticmq-server_2.13-"$ELASTICMQ_VERSION".jar >/dev/null
  touch "$dest/.done"
  echo "elasticmq $ELASTICMQ_VERSION: $(ls "$dest"/*.jar | wc -l) jars in $dest"
}

# S3Proxy: its single self-contained jar (the jar-with-dependencies classifier).
install_s3proxy() {
  local dest="$cache/jars/s3proxy-$S3PROXY_VERSION"
  local jar="$dest/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar"
  [ -f "$dest/.done" ] && { echo "s3proxy $S3PROXY_VERSION: cached in $dest"; return; }
  mkdir -p "$dest"
  run_mvn dependency:copy \
    "-Dartifact=org.gaul:s3proxy:$S3PROXY_VERSION:jar:jar-with-dependencies" "-DoutputDirectory=$dest"
  [ -f "$jar" ] || { echo "error: $jar was not downloaded" >&2; exit 1; }
  touch "$dest/.done"
  echo "s3proxy $S3PROXY_VERSION: $jar"
}

install_elasticmq
install_s3proxy
