#!/usr/bin/env bash
# Installs what Skiff needs and is missing: Debian packages (containerd, runc, CNI plugins,
# nftables, iptables, conntrack, image tools) and the npm dependencies, then builds the
# TypeScript. Idempotent: a second run installs nothing and returns quickly.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

need_root() {
  if [[ $EUID -ne 0 ]]; then
    echo "skiff: installing packages needs root; re-run with sudo" >&2
    exit 1
  fi
}

# Debian packages the node, the control plane and the tests need.
packages=(
  containerd runc containernetworking-plugins nftables iptables conntrack ipset
  umoci skopeo busybox-static iproute2 gcc libc6-dev curl openssl etcd-server
)
missing=()
for pkg in "${packages[@]}"; do
  [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" == ii* ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  need_root
  echo "skiff: installing ${missing[*]}" >&2
  stamp=/var/lib/apt/periodic/skiff-update-stamp
  if [[ ! -f $stamp || -n "$(find $stamp -mmin +360 2>/dev/null)" ]]; then
    apt-get update -qq >&2
    mkdir -p "$(dirname $stamp)" && touch $stamp
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Node dependencies.
cd "$here"
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "skiff: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
if ! command -v kubectl >/dev/null 2>&1; then
  echo "skiff: warning: kubectl not found; install kubectl 1.32 to talk to the cluster" >&2
fi
# Build.
if [[ ! -f dist/cli/main.js || -n "$(find lib agent controlplane cli cluster cni images bench -name '*.ts' ! -name '*.test.ts' -newer dist/cli/main.js -print -quit 2>/dev/null)" ]]; then
  echo "skiff: building" >&2
  npx --no-install tsc -p tsconfig.json >&2
fi
