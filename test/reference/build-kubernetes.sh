#!/usr/bin/env bash
# Builds Skiff's reference Kubernetes (v1.20.2, our compatibility target) from Debian
# bookworm's `kubernetes` source package, the way MACHINE.md describes:
#   apt-get source → dpkg-source -x → GOPATH mode (GO111MODULE=off) with
#   $GOPATH/src/k8s.io/kubernetes → the tree → openapi-gen / go-bindata → go build.
#
# Usage: test/reference/build-kubernetes.sh [--force] [--list] [BINARY...]
#   BINARY   any of: kube-apiserver kube-scheduler kube-controller-manager kubelet kube-proxy
#            kubectl e2e.test ginkgo   (default: all of them)
#   --force  rebuild the named binaries even when they are already in the bin dir
#   --list   print the binary names and exit
#
# Everything lives outside the clone, under
#   ${SKIFF_CACHE:-/var/cache/skiff}/kubernetes-v1.20.2/
#     src/      the downloaded source package (.dsc, orig tarball, debian tarball)
#     tree/     the unpacked, patched Kubernetes tree (plus the generated files)
#     gopath/   GOPATH, with src/k8s.io/kubernetes → ../../../tree
#     gocache/  Go's build cache
#     tools/    openapi-gen, go-bindata
#     bin/      the installed binaries (the output)
#     build-times.log   one line per binary built: name, seconds, date
# Nothing from the Kubernetes tree is ever copied into the repository.
#
# Reuse: a binary already in bin/ is not rebuilt (so an interrupted build resumes where it
# stopped; a binary is moved into bin/ only once it is complete). A run with nothing to do
# says so and exits quickly. Logs go to stderr; the LAST LINE OF STDOUT is the bin dir:
#   bin="$(test/reference/build-kubernetes.sh | tail -n1)"
# Needs root only to install missing Debian packages (golang-go, dpkg-dev) and the deb-src
# line; runs without a terminal (CI).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

readonly K8S_VERSION=v1.20.2
readonly K8S_MAJOR=1 K8S_MINOR=20
# The Debian release whose source package we build; its upstream version is 1.20.2
# (Debian calls it 1.20.5+really1.20.2).
readonly DEBIAN_SUITE=bookworm
readonly ALL_BINARIES=(kube-apiserver kube-scheduler kube-controller-manager kubelet kube-proxy kubectl e2e.test ginkgo)
# Bump when the way the binaries are made changes: binaries stamped with another recipe are
# rebuilt. Each binary's stamp is bin/.NAME.recipe.
#   2: vendored reflect2 1.0.1 replaced by Debian's 1.0.2 (see fix_reflect2).
readonly RECIPE=2

cache_root="${SKIFF_CACHE:-/var/cache/skiff}"
work="$cache_root/kubernetes-$K8S_VERSION"
bin="$work/bin"

log() { echo "build-kubernetes: $*" >&2; }
die() { log "error: $*"; exit 1; }

is_built() { [[ -x "$bin/$1" && "$(cat "$bin/.$1.recipe" 2>/dev/null)" == "$RECIPE" ]]; }

force=false
wanted=()
for arg in "$@"; do
  case "$arg" in
    --force) force=true ;;
    --list) printf '%s\n' "${ALL_BINARIES[@]}"; exit 0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
    -*) die "unknown option $arg (try --help)" ;;
    *)
      [[ " ${ALL_BINARIES[*]} " == *" $arg "* ]] || die "unknown binary $arg (known: ${ALL_BINARIES[*]})"
      wanted+=("$arg") ;;
  esac
done
((${#wanted[@]})) || wanted=("${ALL_BINARIES[@]}")

# --- Fast path: everything is already built. ---------------------------------------------
todo=()
for b in "${wanted[@]}"; do
  if $force || ! is_built "$b"; then todo+=("$b"); fi
done
if ((${#todo[@]} == 0)); then
  log "all of ${wanted[*]} already built in $bin; nothing to do (--force rebuilds)"
  echo "$bin"
  exit 0
fi

mkdir -p "$work"
# One build at a time per cache (parallel test sessions may call this together).
exec 9>"$work/.lock"
if ! flock -n 9; then
  log "another build holds $work/.lock; waiting for it"
  flock 9
fi

# --- Debian packages. ---------------------------------------------------------------------
need_root() { [[ $EUID -eq 0 ]] || die "$1 needs root; re-run as root (or install it yourself)"; }
# Other sessions may hold apt's locks: wait for dpkg's, and retry an update whose lists
# lock is taken.
readonly APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
apt_updated=false
apt_update() {
  $apt_updated && return 0
  log "apt-get update"
  local i
  for i in 1 2 3 4 5 6; do
    apt-get "${APT_OPTS[@]}" update -qq >&2 && { apt_updated=true; return 0; }
    log "apt-get update failed (attempt $i); retrying in 20s"
    sleep 20
  done
  die "apt-get update keeps failing"
}
missing=()
for pkg in golang-go dpkg-dev; do
  [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" == ii* ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  need_root "installing ${missing[*]}"
  log "installing ${missing[*]}"
  if ! apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}" >&2; then
    apt_update
    apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
fi
# Debian's default Go (1.19 on bookworm). Another Go first on PATH (e.g. /usr/local/go) may be
# newer than this tree tolerates, so prefer Debian's explicitly.
GO="${GO:-/usr/lib/go/bin/go}"
[[ -x "$GO" ]] || GO="$(command -v go)" || die "no go binary after installing golang-go"
log "using $("$GO" version)"

# --- Source package. ----------------------------------------------------------------------
src="$work/src"
tree="$work/tree"
if [[ ! -f "$tree/.skiff-unpacked" ]]; then
  mkdir -p "$src"
  if ! compgen -G "$src/kubernetes_*.dsc" >/dev/null; then
    # A deb-src line for bookworm, in a file of our own (idempotent: written once).
    srclist=/etc/apt/sources.list.d/skiff-$DEBIAN_SUITE-src.sources
    if ! apt-cache showsrc kubernetes 2>/dev/null | grep '^Version: .*1\.20\.2' >/dev/null; then
      if [[ ! -f "$srclist" ]]; then
        need_root "adding a deb-src line ($srclist)"
        log "adding $srclist"
        cat >"$srclist" <<EOF
# Added by Skiff's test/reference/build-kubernetes.sh: Debian's kubernetes source package is
# the reference Kubernetes (v1.20.2) that Skiff's end-to-end tests run against.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $DEBIAN_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
      fi
      apt_update
    fi
    log "downloading the kubernetes source package ($DEBIAN_SUITE)"
    (cd "$src" && apt-get "${APT_OPTS[@]}" source --download-only "kubernetes/$DEBIAN_SUITE" >&2)
  fi
  dsc="$(ls "$src"/kubernetes_*.dsc | head -n1)"
  log "unpacking $(basename "$dsc") into $tree"
  rm -rf "$tree" "$tree.tmp" "$work"/kubernetes_*.orig.tar.*
  # dpkg-source verifies the checksums and applies Debian's patches (CVE fixes).
  dpkg-source --no-copy -x "$dsc" "$tree.tmp" >&2
  grep -q 'really1\.20\.2\|^kubernetes (1\.20\.2' "$tree.tmp/debian/changelog" \
    || die "$(basename "$dsc") is not Kubernetes 1.20.2"
  [[ -d "$tree.tmp/vendor/k8s.io" ]] || die "the source package has no vendor/ tree"
  touch "$tree.tmp/.skiff-unpacked"
  mv "$tree.tmp" "$tree"
fi

# --- Go 1.19 compatibility of the vendored tree. -------------------------------------------
# Kubernetes 1.20 vendors github.com/modern-go/reflect2 v1.0.1, which predates Go 1.18's map
# internals: built with Debian's Go 1.19, kube-apiserver panics (nil pointer in
# reflect2.(*UnsafeMapType).Key, under json-iterator) decoding some JSON request bodies, e.g.
# `kubectl create -f node.json` — while protobuf clients (kubelet) never notice. Upstream
# moved to reflect2 v1.0.2 for Go 1.18 (Kubernetes 1.24). We do the same with Debian's
# golang-github-modern-go-reflect2-dev 1.0.2, replacing the vendored .go/.s files in our
# cache tree only; the exported API is unchanged, so no other file is touched.
fix_reflect2() {
  local dir="$tree/vendor/github.com/modern-go/reflect2" stamp="$tree/.skiff-reflect2-1.0.2"
  [[ -f "$stamp" ]] && return 0
  local debs="$work/debs"
  mkdir -p "$debs"
  if ! compgen -G "$debs/golang-github-modern-go-reflect2-dev_1.0.2*.deb" >/dev/null; then
    log "downloading golang-github-modern-go-reflect2-dev (reflect2 1.0.2)"
    (cd "$debs" && apt-get "${APT_OPTS[@]}" download golang-github-modern-go-reflect2-dev >&2) \
      || { apt_update; (cd "$debs" && apt-get "${APT_OPTS[@]}" download golang-github-modern-go-reflect2-dev >&2); }
  fi
  local deb
  deb="$(ls "$debs"/golang-github-modern-go-reflect2-dev_1.0.2*.deb 2>/dev/null | head -n1)"
  [[ -n "$deb" ]] || die "golang-github-modern-go-reflect2-dev 1.0.2 not available (got: $(ls "$debs"))"
  rm -rf "$debs/x"
  dpkg-deb -x "$deb" "$debs/x"
  local new="$debs/x/usr/share/gocode/src/github.com/modern-go/reflect2"
  [[ -f "$new/go_above_118.go" ]] || die "$deb does not hold reflect2 1.0.2 sources"
  log "replacing vendored reflect2 1.0.1 with $(basename "$deb")"
  rm -f "$dir"/*.go "$dir"/*.s
  cp "$new"/*.go "$new"/*.s "$dir/"
  rm -rf "$debs/x"
  touch "$stamp"
}
fix_reflect2

# --- GOPATH mode. -------------------------------------------------------------------------
# Module mode fails on this tree (MACHINE.md); GOPATH mode with the tree at
# $GOPATH/src/k8s.io/kubernetes resolves vendor/ and the staging symlinks.
export GOPATH="$work/gopath"
export GOCACHE="$work/gocache"
export GO111MODULE=off
export GOFLAGS=
export CGO_ENABLED=0   # as Debian's debian/rules does for every binary; no C toolchain needed
export GOTOOLCHAIN=local
unset GOROOT GOBIN
mkdir -p "$GOPATH/src/k8s.io" "$GOCACHE" "$work/tools" "$bin"
ln -sfn ../../../tree "$GOPATH/src/k8s.io/kubernetes"
pkgroot="$GOPATH/src/k8s.io/kubernetes"
cd "$pkgroot"

# Version stamping: upstream's hack/lib/version.sh sets these in both packages. In GOPATH
# mode the packages are the vendored paths; the plain paths are set too (-X on a missing
# symbol is ignored) so that the flags read the same as in module mode.
ldflags="-s -w -buildid="
for pkg in component-base/version client-go/pkg/version; do
  for p in "k8s.io/kubernetes/vendor/k8s.io/$pkg" "k8s.io/$pkg"; do
    ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$K8S_MAJOR -X $p.gitMinor=$K8S_MINOR"
    ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=$(date -u -r "$tree/.skiff-unpacked" +%Y-%m-%dT%H:%M:%SZ)"
  done
done
readonly gotags=selinux,notest

timed() { # timed NAME CMD... — runs CMD, logs and records its duration
  local name="$1"; shift
  local t0=$SECONDS
  "$@"
  local dt=$((SECONDS - t0))
  log "$name: ${dt}s"
  echo "$name ${dt}s $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc)cpu load=$(cut -d' ' -f1 /proc/loadavg)" >>"$work/build-times.log"
}

tool() { # tool NAME PKG — builds a generator into tools/ once
  local name="$1" pkg="$2"
  [[ -x "$work/tools/$name" ]] && return 0
  log "building $name"
  "$GO" build -o "$work/tools/$name.tmp" "k8s.io/kubernetes/$pkg" >&2
  mv "$work/tools/$name.tmp" "$work/tools/$name"
}

# pkg/generated/openapi/zz_generated.openapi.go (kube-apiserver), as Makefile.generated_files
# does for the KUBE target: every Go dir with a '+k8s:openapi-gen=' tag (staging seen as
# vendor/k8s.io/…), minus code-generator and sample-apiserver.
gen_openapi() {
  local out=pkg/generated/openapi/zz_generated.openapi.go
  [[ -f "$tree/.skiff-openapi-generated" && -f "$out" ]] && return 0
  tool openapi-gen vendor/k8s.io/kube-openapi/cmd/openapi-gen
  log "generating $out"
  rm -f "$out"
  local dirs
  dirs="$(find -H . \( -path ./_\* -o -path ./.\* -o -path ./vendor -o -path ./debian \) -prune -o -type f -name '*.go' -print \
    | { xargs grep -l '^// *+k8s:' || true; } \
    | { xargs grep -l '+k8s:openapi-gen=' || true; } \
    | sed 's|^\./||; s|^staging/src/|vendor/|; s|/[^/]*$||' \
    | grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' \
    | LC_ALL=C sort -u | sed 's|^|k8s.io/kubernetes/|' | paste -sd, -)"
  [[ -n "$dirs" ]] || die "found no +k8s:openapi-gen packages"
  "$work/tools/openapi-gen" --logtostderr \
    -i "$dirs" \
    -p k8s.io/kubernetes/pkg/generated/openapi \
    -O zz_generated.openapi \
    -o "$GOPATH/src" \
    -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
    -r "$work/openapi-violations.report" >&2
  [[ -s "$out" ]] || die "openapi-gen wrote no $out"
  touch "$tree/.skiff-openapi-generated"
}

# test/e2e/generated/bindata.go (e2e.test), with the inputs hack/generate-bindata.sh lists.
gen_bindata() {
  local out=test/e2e/generated/bindata.go
  [[ -f "$tree/.skiff-bindata-generated" && -f "$out" ]] && return 0
  tool go-bindata vendor/github.com/go-bindata/go-bindata/go-bindata
  log "generating $out"
  "$work/tools/go-bindata" -nometadata -o "$out.tmp" -pkg generated \
    -ignore .jpg -ignore .png -ignore .md -ignore 'BUILD(\.bazel)?' \
    "test/conformance/testdata/..." \
    "test/e2e/testing-manifests/..." \
    "test/e2e_node/testing-manifests/..." \
    "test/images/..." \
    "test/fixtures/..." >&2
  "$(dirname "$GO")/gofmt" -s -w "$out.tmp"
  mv "$out.tmp" "$out"
  touch "$tree/.skiff-bindata-generated"
}

build_one() {
  local b="$1" tmp="$bin/.$1.tmp"
  rm -f "$tmp"
  case "$b" in
    kube-apiserver)
      [[ -f "$tree/.skiff-openapi-generated" ]] || timed "(generate openapi)" gen_openapi
      timed "$b" "$GO" build -tags "$gotags" -ldflags "$ldflags" -o "$tmp" k8s.io/kubernetes/cmd/kube-apiserver ;;
    kube-scheduler | kube-controller-manager | kubelet | kube-proxy | kubectl)
      timed "$b" "$GO" build -tags "$gotags" -ldflags "$ldflags" -o "$tmp" "k8s.io/kubernetes/cmd/$b" ;;
    e2e.test)
      [[ -f "$tree/.skiff-bindata-generated" ]] || timed "(generate bindata)" gen_bindata
      timed "$b" "$GO" test -c -tags "$gotags" -ldflags "$ldflags" -o "$tmp" k8s.io/kubernetes/test/e2e ;;
    ginkgo)
      [[ -d vendor/github.com/onsi/ginkgo/ginkgo ]] || { log "the tree vendors no ginkgo; skipping"; return 0; }
      timed "$b" "$GO" build -ldflags "-s -w" -o "$tmp" k8s.io/kubernetes/vendor/github.com/onsi/ginkgo/ginkgo ;;
  esac
  mv -f "$tmp" "$bin/$b"
  echo "$RECIPE" >"$bin/.$b.recipe"
}

# Re-check under the lock: a concurrent run may have built some meanwhile.
built=()
for b in "${todo[@]}"; do
  if ! $force && is_built "$b"; then
    log "$b: already built"
    continue
  fi
  log "building $b"
  build_one "$b"
  built+=("$b")
done

# Sanity: the server binaries must say v1.20.2.
for b in kube-apiserver kube-scheduler kube-controller-manager kubelet kube-proxy; do
  [[ " ${built[*]-} " == *" $b "* ]] || continue
  v="$("$bin/$b" --version 2>&1 | tail -n1)"
  [[ "$v" == *"$K8S_VERSION"* ]] || die "$b --version says '$v', want $K8S_VERSION"
done
log "built: ${built[*]-none}; bin dir: $bin"
echo "$bin"
