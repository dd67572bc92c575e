#!/usr/bin/env bash
# Installs what the local cluster needs from Debian's packages. Bookworm packages are installed as usual;
# etcd (trixie) and containerd (sid) are downloaded with a private apt list and extracted into the cache,
# never installed as services. Idempotent: a second call only checks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${KASSET_CACHE:-$HOME/.cache/kasset}
export DEBIAN_FRONTEND=noninteractive

# bookworm: runc 1.1.5 (newer Debian runc needs glibc 2.38), CNI plugins, iptables for the bridge plugin,
# busybox-static for tiny images, debootstrap for the Python step image, prometheus for the e2e scrape tests.
apt_pkgs=(runc containernetworking-plugins iptables busybox-static debootstrap prometheus openssl)
missing=()
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "apt: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's prometheus package starts a service where an init system runs; the tests start their own.
  pkill -x prometheus 2>/dev/null || true
fi

# extract PACKAGE from SUITE into $cache/debs/PACKAGE-SUITE, using an apt state of our own
extract_deb() {
  local pkg=$1 suite=$2 dest="$cache/debs/$1-$2"
  [ -f "$dest/.done" ] && { echo "$pkg ($suite): cached in $dest"; return; }
  local state="$cache/apt-$suite"
  mkdir -p "$state/lists/partial" "$state/archives/partial" "$dest"
  cat > "$state/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
SRC
  local opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=-"
              -o "Dir::State::Lists=$state/lists" -o "Dir::Cache::Archives=$state/archives" -o "APT::Get::List-Cleanup=0" -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" update -qq
  (cd "$state/archives" && apt-get "${opts[@]}" download "$pkg" >/dev/null)
  dpkg-deb -x "$state/archives/${pkg}_"*.deb "$dest"
  touch "$dest/.done"
  echo "$pkg ($suite): extracted into $dest"
}

extract_deb etcd-server "$ETCD_DEB_SUITE"
extract_deb containerd "$CONTAINERD_DEB_SUITE"
