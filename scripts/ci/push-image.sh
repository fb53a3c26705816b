#!/usr/bin/env bash
# Push the image that was just built and tested, under every tag `invoke image.build` gave it,
# to REGISTRY (e.g. ghcr.io/owner). Pushing the tested image itself, not a rebuild, means the
# registry gets exactly the bytes the image suites passed on. OCI labels travel with it.
#
#   push-image.sh REGISTRY VARIANT CUDA PYTHON
set -euo pipefail

die() {
  echo "push-image: $*" >&2
  exit 1
}

[[ $# == 4 ]] || die "usage: $0 REGISTRY VARIANT CUDA PYTHON"
registry=${1%/} variant=$2 cuda=$3 python=$4

mapfile -t refs < <(
  docker images \
    --filter "label=io.dl-env.variant=$variant" \
    --filter "label=io.dl-env.cuda=$cuda" \
    --filter "label=io.dl-env.python=$python" \
    --format '{{.Repository}}:{{.Tag}}' | grep --invert-match --fixed-strings '<none>' || true
)
((${#refs[@]} > 0)) || die "no image labelled $variant / CUDA $cuda / Python $python; build it first"

for ref in "${refs[@]}"; do
  docker tag "$ref" "$registry/$ref"
  docker push --quiet "$registry/$ref"
  echo "pushed $registry/$ref"
done
