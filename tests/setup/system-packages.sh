#!/usr/bin/env bash
# Installs the Debian packages the collection, its tests and the lab need.
# Runs apt-get only when something is missing and we are root; otherwise it
# names what is missing and leaves the machine alone.
set -euo pipefail

packages=(
  # building ovirt-engine-sdk-python and pycurl (bindep.txt)
  gcc make python3-dev python3-venv libxml2-dev libcurl4-openssl-dev libssl-dev
  # copying the tree for ansible-test sanity
  rsync git openssl shellcheck
  # the lab: etcd, and the Debian source of kube-apiserver built with Debian's Go
  etcd-server golang-go dpkg-dev golang-github-modern-go-reflect2-dev
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "system-packages: missing Debian packages: ${missing[*]}" >&2
  echo "system-packages: install them as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "system-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
