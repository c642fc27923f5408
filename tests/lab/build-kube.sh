#!/usr/bin/env bash
# Build kube-apiserver and kube-controller-manager for the test lab from
# Debian's own source package of kubernetes (1.20.2, the source of kubectl),
# offline, with Debian's Go.  Prints the bin dir on stdout (nothing else).
#
# Cache: ${OVIRT_KUBEVIRT_LAB_CACHE:-$HOME/.cache/ovirt-kubevirt-lab}/
#          kubernetes-<debian source version>/bin/{kube-apiserver,kube-controller-manager}
# A warm call only checks the cache and returns at once.
set -euo pipefail

readonly CACHE_ROOT="${OVIRT_KUBEVIRT_LAB_CACHE:-$HOME/.cache/ovirt-kubevirt-lab}"
readonly SRC_LIST=/etc/apt/sources.list.d/ovirt-kubevirt-lab-src.sources
readonly BUILD_PACKAGES=(golang-go dpkg-dev golang-github-modern-go-reflect2-dev etcd-server python3)
readonly BINARIES=(kube-apiserver kube-controller-manager)
readonly REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2

log() { echo "build-kube: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

source_version() {
    apt-cache showsrc --only-source kubernetes 2>/dev/null \
        | awk '/^Version:/ {print $2}' | sort -V | tail -n 1
}

have_binaries() {
    local dir=$1 b
    for b in "${BINARIES[@]}"; do [[ -x "$dir/$b" ]] || return 1; done
}

ensure_deb_src() {
    [[ -n "$(source_version)" ]] && return 0
    [[ $EUID -eq 0 ]] || die "no deb-src for kubernetes; as root, add $SRC_LIST (deb-src bookworm main) and run apt-get update"
    log "adding $SRC_LIST and running apt-get update"
    cat >"$SRC_LIST" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt-get update -qq >&2
    [[ -n "$(source_version)" ]] || die "apt-cache showsrc kubernetes finds nothing even after adding $SRC_LIST"
}

ensure_packages() {
    local missing=() p
    for p in "${BUILD_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    [[ $EUID -eq 0 ]] || die "missing packages (install as root): ${missing[*]}"
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

# Go >= 1.17 rejects Go 1.15's vendor/modules.txt ("updates to go.mod needed,
# disabled by -mod=vendor") because package lines of wildcard-replaced modules sit
# under the version-less "# mod => mod vX" line; move them (same lines) under
# the versioned block of the module that owns them.
fix_modules_txt() {
    python3 - vendor/modules.txt <<'EOF'
import re, sys
path = sys.argv[1]
blocks = []  # [module, version or None, lines]
with open(path) as f:
    for line in f.read().splitlines():
        if line.startswith("# "):
            m = re.match(r"# (\S+)(?: (v\S+))?(?: =>.*)?$", line)
            blocks.append([m.group(1), m.group(2), [line]])
        else:
            blocks[-1][2].append(line)
versioned = {b[0]: b for b in blocks if b[1]}
def owner(pkg):
    parts = pkg.split("/")
    for i in range(len(parts), 0, -1):
        if "/".join(parts[:i]) in versioned:
            return versioned["/".join(parts[:i])]
    return None
moved = 0
for b in blocks:
    if b[1]:
        continue
    keep = b[2][:1]
    for line in b[2][1:]:
        target = None if line.startswith("#") else owner(line)
        if target is None:
            keep.append(line)
        else:
            target[2].append(line)
            moved += 1
    b[2] = keep
with open(path, "w") as f:
    f.write("\n".join(l for b in blocks for l in b[2]) + "\n")
print(f"build-kube: modules.txt: moved {moved} package lines", file=sys.stderr)
EOF
}

# The vendored reflect2 v1.0.1 makes the server SIGSEGV on the first custom
# resource when built with Go >= 1.18; v1.0.2 (Debian's package) fixes it.
# go.sum is not consulted with -mod=vendor, so only go.mod/modules.txt change.
use_debian_reflect2() {
    [[ -f "$REFLECT2_SRC/reflect2.go" ]] || die "$REFLECT2_SRC missing (golang-github-modern-go-reflect2-dev)"
    rm -rf vendor/github.com/modern-go/reflect2
    mkdir -p vendor/github.com/modern-go/reflect2
    cp "$REFLECT2_SRC"/*.go "$REFLECT2_SRC"/*.s vendor/github.com/modern-go/reflect2/
    sed -i 's|\(github.com/modern-go/reflect2\) v1\.0\.1|\1 v1.0.2|g' go.mod vendor/modules.txt
    grep -q 'reflect2 v1.0.1' go.mod vendor/modules.txt && die "reflect2 v1.0.1 still referenced"
    return 0
}

# pkg/generated/openapi/zz_generated.openapi.go is not in the tarball
# ("undefined: openapi.GetOpenAPIDefinitions"); generate it like
# build/root/Makefile.generated_files does (target KUBE of gen_openapi).
generate_openapi() {
    local gopath=$1 dirs
    go build -o "$gopath/bin/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
    # Same package list as the Makefile: every non-vendor dir (staging as vendor/...)
    # whose +k8s: tagged files mention openapi-gen, minus code-generator/sample-apiserver.
    dirs=$(find . \( -path ./vendor -o -path './_*' -o -path './.*' \) -prune -o -type f -name '*.go' -print0 \
        | xargs -0 grep -lZ '^// *+k8s:' | xargs -0 grep -l '+k8s:openapi-gen=' \
        | sed 's|/[^/]*$||; s|^\./||; s|^staging/src|vendor|' \
        | grep -v '^vendor/k8s.io/\(code-generator\|sample-apiserver\)/' \
        | LC_ALL=C sort -u | sed 's|^|k8s.io/kubernetes/|' | paste -sd, -)
    # gengo (openapi-gen's parser) resolves packages with go/build, so it runs in
    # GOPATH mode over a GOPATH tree that links k8s.io/kubernetes, as upstream does.
    mkdir -p "$gopath/src/k8s.io"
    ln -sfn "$PWD" "$gopath/src/k8s.io/kubernetes"
    (
        cd "$gopath/src/k8s.io/kubernetes"
        GO111MODULE=off GOFLAGS='' GOPATH="$gopath" "$gopath/bin/openapi-gen" \
            --logtostderr -i "$dirs" \
            -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
            -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
            -r "$gopath/openapi-violations.report"
    )
    rm -f "$gopath/src/k8s.io/kubernetes"
    [[ -s pkg/generated/openapi/zz_generated.openapi.go ]] || die "openapi-gen produced nothing"
    # Upstream fails on a differing API-rule report; here it only hints at a wrong package list.
    diff -q "$gopath/openapi-violations.report" api/api-rules/violation_exceptions.list >/dev/null \
        || log "warning: openapi-gen violation report differs from api/api-rules/violation_exceptions.list"
}

build() {
    local version=$1 dest=$2 work gopath upstream ldflags b
    work=$(mktemp -d "$CACHE_ROOT/build.XXXXXX")
    # shellcheck disable=SC2064  # expand now: $work is local, gone when the trap runs
    trap "rm -rf '$work'" EXIT
    gopath="$CACHE_ROOT/gopath"

    log "apt-get source kubernetes=$version"
    (cd "$work" && apt-get source -q "kubernetes=$version" >&2)
    cd "$work"/kubernetes-*/
    [[ -d cmd/kube-apiserver && -f vendor/modules.txt ]] || die "unexpected source tree in $PWD"

    # Module mode from vendor/ only: nothing is fetched, and caches stay in the cache dir.
    export GO111MODULE=on GOFLAGS=-mod=vendor GOPROXY=off GOSUMDB=off CGO_ENABLED=0 \
        GOCACHE="$CACHE_ROOT/go-build" GOPATH="$gopath"

    fix_modules_txt
    use_debian_reflect2
    generate_openapi "$gopath"

    upstream=${version%-*}          # 1.20.5+really1.20.2-1.1+deb12u1 -> 1.20.5+really1.20.2
    upstream=${upstream##*really}   # -> 1.20.2
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ldflags+=" -X $pkg.gitVersion=v$upstream -X $pkg.gitMajor=${upstream%%.*}"
        ldflags+=" -X $pkg.gitMinor=$(cut -d. -f2 <<<"$upstream") -X $pkg.gitTreeState=clean"
        ldflags+=" -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    done

    log "go build ${BINARIES[*]} ($(go version))"
    mkdir -p "$work/out/bin"
    local t0=$SECONDS
    go build -trimpath -ldflags "$ldflags" -o "$work/out/bin/" "${BINARIES[@]/#/./cmd/}"
    log "go build took $((SECONDS - t0)) s"
    for b in "${BINARIES[@]}"; do "$work/out/bin/$b" --version >&2; done

    # Atomic publish: the bin dir appears complete or not at all.
    mkdir -p "$dest"
    rm -rf "${dest:?}/bin"
    mv "$work/out/bin" "$dest/bin"
}

main() {
    local start version dest
    start=$(date +%s)
    ensure_deb_src
    version=$(source_version)
    dest="$CACHE_ROOT/kubernetes-$version"
    if have_binaries "$dest/bin"; then echo "$dest/bin"; exit 0; fi

    mkdir -p "$CACHE_ROOT"
    # Two labs starting at once must not build twice: the second waits, then finds the cache.
    exec 9>"$CACHE_ROOT/kubernetes-$version.lock"
    flock 9
    if have_binaries "$dest/bin"; then echo "$dest/bin"; exit 0; fi

    [[ $version == *1.20.2* ]] || log "warning: the source fixes here were written for 1.20.2, not $version"
    # Under the lock, any build dir left behind is from a build that died.
    rm -rf "$CACHE_ROOT"/build.*
    ensure_packages
    (build "$version" "$dest")
    have_binaries "$dest/bin" || die "build finished without ${BINARIES[*]} in $dest/bin"
    # Only the binaries are worth caching; the Go build cache alone is about 1.4 GB.
    chmod -R u+w "$CACHE_ROOT/gopath" 2>/dev/null || true  # module cache files are read-only
    rm -rf "$CACHE_ROOT/go-build" "$CACHE_ROOT/gopath"
    log "built in $(($(date +%s) - start)) s"
    echo "$dest/bin"
}

main "$@"
