#!/usr/bin/env bash
# Builds the pinned Kubernetes binaries (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
# kubectl, kube-proxy) from upstream sources through the Go module proxy, plus kwok and helm, into a cache folder keyed
# by version. A second call with the same versions does nothing. Nothing built here is ever committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${KASSET_CACHE:-$HOME/.cache/kasset}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

k8s_bin="$cache/bin/k8s-$K8S_VERSION"
k8s_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

build_k8s() {
  local have=1
  for c in "${k8s_cmds[@]}"; do [ -x "$k8s_bin/$c" ] || have=0; done
  [ $have = 1 ] && { echo "kubernetes $K8S_VERSION: cached in $k8s_bin"; return; }
  local src="$cache/src/k8s-$K8S_VERSION" minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local staging_version="v0.${K8S_VERSION#v1.}"
  mkdir -p "$src" "$k8s_bin.tmp"
  # The upstream module replaces its 30-odd staging modules with ./staging paths, which a consumer ignores.
  # Derive our replace list from upstream's own go.mod so that a version bump cannot miss one.
  local upstream_mod
  upstream_mod=$(cd "$src" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  {
    echo "module kasset.dev/k8s-build"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    awk '/^replace \(/{on=1; next} on && /^\)/{on=0} on && /=> \.\/staging/ {print $1}' "$upstream_mod" |
      while read -r m; do echo "	$m => $m $staging_version"; done
    echo ")"
  } > "$src/go.mod"
  local pkgs=()
  for c in "${k8s_cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  (cd "$src" && go get "${pkgs[@]/%/@$K8S_VERSION}" >/dev/null 2>&1 || go get "k8s.io/kubernetes@$K8S_VERSION")
  local date=2026-01-01T00:00:00Z v ld=""
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor"
    ld+=" -X $v.gitTreeState=clean -X $v.buildDate=$date"
  done
  echo "kubernetes $K8S_VERSION: building ${k8s_cmds[*]} (cold: tens of minutes)"
  (cd "$src" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "-s -w$ld" -o "$k8s_bin.tmp/" "${pkgs[@]}")
  rm -rf "$k8s_bin" && mv "$k8s_bin.tmp" "$k8s_bin"
}

# kwok and helm each build in a throw-away module of their own, so they cannot raise shared dependencies.
build_tool() {
  local name=$1 pkg=$2 version=$3 dir="$cache/bin/$1-$3"
  [ -x "$dir/$name" ] && { echo "$name $version: cached in $dir"; return; }
  echo "$name $version: building"
  mkdir -p "$dir.tmp"
  GOBIN="$dir.tmp" go install -trimpath -ldflags "-s -w" "$pkg@$version"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

# kube-proxy came later than the others: built on its own into the same folder, so an existing cache is kept.
build_kube_proxy() {
  [ -x "$k8s_bin/kube-proxy" ] && { echo "kube-proxy $K8S_VERSION: cached in $k8s_bin"; return; }
  local src="$cache/src/k8s-$K8S_VERSION" minor=${K8S_VERSION#v1.} date=2026-01-01T00:00:00Z v ld=""
  minor=${minor%%.*}
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor"
    ld+=" -X $v.gitTreeState=clean -X $v.buildDate=$date"
  done
  echo "kube-proxy $K8S_VERSION: building"
  (cd "$src" && go get "k8s.io/kubernetes/cmd/kube-proxy@$K8S_VERSION" >/dev/null 2>&1 || true)
  (cd "$src" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "-s -w$ld" -o "$k8s_bin/kube-proxy.tmp" \
    k8s.io/kubernetes/cmd/kube-proxy)
  mv "$k8s_bin/kube-proxy.tmp" "$k8s_bin/kube-proxy"
}

build_k8s
build_kube_proxy
build_tool kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION"
build_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
