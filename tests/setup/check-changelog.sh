#!/usr/bin/env bash
# Fails when CHANGELOG.rst or changelogs/changelog.yaml is not what `make changelog`
# makes from the fragments: regenerates both in a scratch copy and compares.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
version="$(sed -n 's/^version: *//p' "$root/galaxy.yml")"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp -r "$root/changelogs" "$root/galaxy.yml" "$root/CHANGELOG.rst" "$scratch/"
(cd "$scratch" && antsibull-changelog lint && \
  antsibull-changelog release --version "$version" --refresh-fragments without-archives >/dev/null 2>&1)
for file in CHANGELOG.rst changelogs/changelog.yaml; do
  if ! diff -u "$root/$file" "$scratch/$file"; then
    echo "check-changelog: $file is not up to date with changelogs/fragments; run 'make changelog' and commit it" >&2
    exit 1
  fi
done
fragments=("$root"/changelogs/fragments/*.yml)
echo "check-changelog: CHANGELOG.rst is current with ${#fragments[@]} fragment(s)"
