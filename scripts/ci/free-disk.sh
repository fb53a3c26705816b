#!/usr/bin/env bash
# Make room for multi-GB CUDA images on a GitHub-hosted runner (about 20 GB free out of the box):
# delete preinstalled toolchains no image build uses. Refuses to run on any other machine.
set -euo pipefail

if [[ ${RUNNER_ENVIRONMENT:-} != github-hosted ]]; then
  echo "free-disk: RUNNER_ENVIRONMENT is '${RUNNER_ENVIRONMENT:-}', not 'github-hosted';" \
    "refusing to delete system directories (on your own runner, use docker-janitor.sh)" >&2
  exit 1
fi

df -h /
sudo rm -rf \
  /usr/share/dotnet \
  /usr/local/lib/android \
  /opt/ghc \
  /usr/local/.ghcup \
  /opt/hostedtoolcache/CodeQL \
  /usr/local/share/boost \
  /usr/share/swift
sudo docker image prune --all --force >/dev/null
df -h /
