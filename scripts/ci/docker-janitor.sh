#!/usr/bin/env bash
# Leave a self-hosted runner's Docker as the job found it: remove the containers and images the
# job created, keep everything that was there before (other work's images, the BuildKit cache).
#
#   docker-janitor.sh snapshot FILE            record the containers and images present now
#   docker-janitor.sh cleanup FILE             remove every container and image not in FILE
#   docker-janitor.sh require-disk GB [PATH]   fail unless PATH (default: Docker's data root)
#                                              has at least GB gigabytes free
set -euo pipefail

die() {
  echo "docker-janitor: $*" >&2
  exit 1
}

# One line per object, containers first so that cleanup frees images before removing them.
docker_state() {
  docker ps --all --quiet --no-trunc | sed 's/^/container /'
  docker images --all --quiet --no-trunc | sort -u | sed 's/^/image /'
}

snapshot() {
  docker_state >"$1"
  echo "docker-janitor: recorded $(wc -l <"$1") containers and images in $1"
}

cleanup() {
  [[ -f $1 ]] || die "no snapshot at $1; run 'docker-janitor.sh snapshot $1' before the job"
  local kind id failed=0 created=0 now
  now=$(docker_state)
  while read -r kind id; do
    [[ -n $id ]] || continue
    created=$((created + 1))
    if [[ $kind == container ]]; then
      docker rm --force --volumes "$id" >/dev/null || failed=1
    # An image can already be gone with the child removed before it: only one left is a failure.
    elif ! docker rmi --force "$id" >/dev/null 2>&1 && docker image inspect "$id" >/dev/null 2>&1; then
      echo "docker-janitor: could not remove image $id" >&2
      failed=1
    fi
  done < <(grep --invert-match --line-regexp --fixed-strings --file="$1" <<<"$now" || true)
  echo "docker-janitor: removed $created containers and images created since the snapshot"
  [[ $failed == 0 ]] || die "some objects could not be removed; see 'docker ps -a' and 'docker images'"
}

require_disk() {
  local wanted=$1 path=${2:-} free
  [[ $wanted =~ ^[0-9]+$ ]] || die "require-disk wants a whole number of GB, got '$wanted'"
  [[ -n $path ]] || path=$(docker info --format '{{.DockerRootDir}}')
  free=$(df -P -B1G "$path" | awk 'NR == 2 { print $4 }')
  if ((free < wanted)); then
    die "only ${free} GB free on $path, need ${wanted} GB (fix: docker system prune, or grow the disk)"
  fi
  echo "docker-janitor: ${free} GB free on $path (need ${wanted} GB)"
}

case ${1:-} in
  snapshot) [[ $# == 2 ]] || die "usage: $0 snapshot FILE"; snapshot "$2" ;;
  cleanup) [[ $# == 2 ]] || die "usage: $0 cleanup FILE"; cleanup "$2" ;;
  require-disk) [[ $# == 2 || $# == 3 ]] || die "usage: $0 require-disk GB [PATH]"; require_disk "${@:2}" ;;
  *) die "usage: $0 snapshot FILE | cleanup FILE | require-disk GB [PATH]" ;;
esac
