#!/usr/bin/env bash
# Build one Go component of the real-KubeVirt lab from the Go module proxy, by
# module path and version, through the wrapper module in tests/lab/go/<name>/.
# Prints the bin dir on stdout (nothing else); logs go to stderr.
#
#   build-go.sh etcd|kube|kwok|kubevirt|cdi
#
# Cache: ${OVIRT_KUBEVIRT_LAB_CACHE:-$HOME/.cache/ovirt-kubevirt-lab}/<name>-<version>-<wrapper hash>/bin
# The hash covers this script, go.mod, go.sum and the wrapper's own Go files, so
# an edited recipe builds again; a warm call only checks the cache.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
readonly HERE
readonly CACHE_ROOT="${OVIRT_KUBEVIRT_LAB_CACHE:-$HOME/.cache/ovirt-kubevirt-lab}"

log() { echo "build-go: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

name=${1:-}
wrapper="$HERE/go/$name"
[[ -n "$name" && -f "$wrapper/go.mod" ]] || die "usage: build-go.sh etcd|kube|kwok|kubevirt|cdi"
# Go 1.24 or newer (tool lines, and the go line of KubeVirt and KWOK); Debian's golang-go (1.19,
# which the sim lab's Kubernetes 1.20 build uses) may come first on PATH, so look for a newer one.
go_ok() { "$1" version 2>/dev/null | awk '{split($3, v, "."); sub("go", "", v[1]); exit !(v[1] > 1 || v[2] >= 24)}'; }
gobin=""
for candidate in "$(command -v go || true)" /usr/local/go/bin/go "$HOME/go/bin/go" /usr/lib/go/bin/go; do
  if [[ -n "$candidate" && -x "$candidate" ]] && go_ok "$candidate"; then gobin=$candidate; break; fi
done
[[ -n "$gobin" ]] || die "no Go 1.24 or newer found (on PATH or in /usr/local/go/bin); install Go from go.dev"
PATH="$(dirname "$gobin"):$PATH"

# The one module whose version names the component, and what to build from it.
case "$name" in
  etcd)     module=go.etcd.io/etcd/server/v3; packages=(go.etcd.io/etcd/server/v3); binaries=(etcd) ;;
  kube)     module=k8s.io/kubernetes
            packages=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
                      k8s.io/kubernetes/cmd/kube-scheduler)
            binaries=(kube-apiserver kube-controller-manager kube-scheduler) ;;
  kwok)     module=sigs.k8s.io/kwok; packages=(sigs.k8s.io/kwok/cmd/kwok); binaries=(kwok) ;;
  kubevirt) module=kubevirt.io/kubevirt
            packages=(kubevirt.io/kubevirt/cmd/virt-api kubevirt.io/kubevirt/cmd/virt-controller
                      ./cmd/lab-install-strategy)
            binaries=(virt-api virt-controller lab-install-strategy) ;;
  cdi)      module=kubevirt.io/containerized-data-importer; packages=(./cmd/lab-cdi-crds); binaries=(lab-cdi-crds) ;;
  *) die "unknown component $name" ;;
esac

cd "$wrapper"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly
version=$(go list -m -f '{{.Version}}' "$module")
hash=$( (cat "$HERE/build-go.sh" go.mod go.sum; find . -name '*.go' -print0 | sort -z | xargs -0 -r cat) \
       | sha256sum | cut -c1-12)
out="$CACHE_ROOT/$name-$version-$hash"

have_binaries() { local b; for b in "${binaries[@]}"; do [[ -x "$out/bin/$b" ]] || return 1; done; }

if have_binaries; then echo "$out/bin"; exit 0; fi
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.$name.lock"
flock 9   # two labs starting at once build once
if have_binaries; then echo "$out/bin"; exit 0; fi

ldflags="-s -w"
case "$name" in
  kube)
    minor=${version#v1.}; minor=${minor%%.*}
    ldflags+=" -X k8s.io/component-base/version.gitVersion=$version"
    ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
    ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean" ;;
  kubevirt)
    # The commit the module proxy records for the tag, so /version reports it as a release build does.
    commit=$(go mod download -json "$module@$version" | sed -n 's/.*"Hash": *"\([0-9a-f]*\)".*/\1/p' | head -n 1)
    ldflags+=" -X kubevirt.io/client-go/version.gitVersion=$version"
    ldflags+=" -X kubevirt.io/client-go/version.gitCommit=${commit:-unknown}"
    ldflags+=" -X kubevirt.io/client-go/version.gitTreeState=clean" ;;
esac

log "building $name $version (${binaries[*]}) into $out; a cold build takes minutes"
began=$SECONDS
rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin"
go build -trimpath -ldflags "$ldflags" -o "$out.tmp/bin/" "${packages[@]}" >&2
# etcd's main package is go.etcd.io/etcd/server/v3, so go build names it "server".
if [[ "$name" == etcd && -x "$out.tmp/bin/server" ]]; then mv "$out.tmp/bin/server" "$out.tmp/bin/etcd"; fi
for b in "${binaries[@]}"; do [[ -x "$out.tmp/bin/$b" ]] || die "go build made no $b in $out.tmp/bin"; done
if [[ "$name" == kwok ]]; then
  # KWOK's stock Stages ship in its module: the node ones and pod-ready/pod-complete (the lab has its own pod-delete).
  moddir=$(go list -m -f '{{.Dir}}' "$module")
  mkdir -p "$out.tmp/stages"
  cp "$moddir/kustomize/stage/node/fast/node-initialize.yaml" \
     "$moddir/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
     "$moddir/kustomize/stage/pod/fast/pod-ready.yaml" "$moddir/kustomize/stage/pod/fast/pod-complete.yaml" \
     "$out.tmp/stages/"
fi
rm -rf "$out" && mv "$out.tmp" "$out"
log "built $name $version in $((SECONDS - began)) s"
echo "$out/bin"
