#!/usr/bin/env bash
# Renders `ansible-doc` for every module and filter of the installed collection,
# so a documentation error fails the build rather than a user's session.
set -euo pipefail
export ANSIBLE_COLLECTIONS_PATH=${1:?usage: check-docs.sh COLLECTIONS_PATH}
root="$ANSIBLE_COLLECTIONS_PATH/ansible_collections/ovirt_kubevirt/bridge"
count=0
for kind in module filter; do
  dir=$([[ $kind == module ]] && echo modules || echo filter)
  for f in "$root/plugins/$dir"/*; do
    name=$(basename "$f"); name=${name%.*}
    [[ "$name" == __init__ || "$name" == "*" ]] && continue
    [[ $kind == filter && "$f" == *.py ]] && continue   # filter docs live in the .yml files
    ansible-doc -t "$kind" "ovirt_kubevirt.bridge.$name" >/dev/null
    count=$((count + 1))
  done
done
echo "check-docs: ansible-doc rendered $count plugin(s)"
