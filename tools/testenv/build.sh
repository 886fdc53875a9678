#!/usr/bin/env bash
# Builds the test environment's servers from their Go modules, once per version, into
# ~/.cache/ogcapi-k8s-manager/bin/<component>-<version>/ (override with OGC_TESTENV_CACHE).
# Each component is pinned by the go.mod/go.sum of its wrapper module beside this script.
# Prints the directory of each component's binaries as `name=dir` lines on stdout; progress on stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${OGC_TESTENV_CACHE:-$HOME/.cache/ogcapi-k8s-manager}
export GOFLAGS=-buildvcs=false CGO_ENABLED=0
# Go may be installed without being on PATH (its default place on Debian-style images).
export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "[testenv build] Go 1.24 or newer is needed to build the test servers; install it and put it on PATH" >&2; exit 1; }

log() { printf '[testenv build] %s\n' "$*" >&2; }

# version of a module as pinned in a wrapper's go.mod
pinned() { awk -v m="$2" '$1 == m { print $2; exit }' "$here/$1/go.mod"; }

# build <component> <wrapper module dir> <module that holds the version> <ldflags> <package>...
build() {
  local component=$1 dir=$2 module=$3 ldflags=$4; shift 4
  local version
  # our own modules have no version to pin: their sources' hash keys the cache
  if [ -n "$module" ]; then version=$(pinned "$dir" "$module"); else version=src-$(cat "$here/$dir"/go.mod "$here/$dir"/*.go | sha256sum | cut -c1-12); fi
  local out="$cache/bin/$component-$version"
  if [ -f "$out/.complete" ]; then
    echo "$component=$out"
    return
  fi
  log "building $component $version (cold build; later runs reuse $out)"
  local started=$SECONDS
  rm -rf "$out" && mkdir -p "$out"
  # `go build` prints nothing while compiling; a heartbeat shows the build is alive.
  ( while sleep 60; do log "  ... $component still building ($((SECONDS - started))s)"; done ) &
  local heartbeat=$!
  # a single package is named after its component (etcd's main package would otherwise be named "server")
  local target="$out/"
  if [ $# -eq 1 ]; then target="$out/$component"; fi
  (cd "$here/$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$target" "$@") ||
    { kill $heartbeat; log "FAILED to build $component"; exit 1; }
  kill $heartbeat
  touch "$out/.complete"
  log "built $component in $((SECONDS - started))s"
  echo "$component=$out"
}

k8s_version=$(pinned k8s k8s.io/kubernetes)
k8s_minor=$(echo "$k8s_version" | cut -d. -f2)
k8s_ldflags=""
# The same variables Kubernetes' own build sets, so /version tells the truth.
for kv in "gitVersion=$k8s_version" gitMajor=1 "gitMinor=$k8s_minor" gitTreeState=clean \
  "buildDate=1970-01-01T00:00:00Z"; do
  k8s_ldflags+=" -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
done

build etcd etcd go.etcd.io/etcd/server/v3 "" go.etcd.io/etcd/server/v3
build kwok kwok sigs.k8s.io/kwok "" sigs.k8s.io/kwok/cmd/kwok
build versitygw versitygw github.com/versity/versitygw "" github.com/versity/versitygw/cmd/versitygw
build k8s k8s k8s.io/kubernetes "$k8s_ldflags" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
# The real node's kubelet: same module and version as the control plane, cached on its own so a
# cache built before the real node existed is completed, not rebuilt.
build kubelet k8s k8s.io/kubernetes "$k8s_ldflags" k8s.io/kubernetes/cmd/kubelet
# The pod sandbox ("pause") program of the real node's images: our own, standard library only.
build pause pause "" "" ./
