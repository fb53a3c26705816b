#!/usr/bin/env bash
# Bootstrap a Debian base image with no registry: debootstrap a minimal rootfs and
# `docker import` it. For air-gapped hosts, and for dl-env's own tests.
#
#   scripts/image/bootstrap-base.sh [--dry-run] [--force] [--tag NAME] [--suite bookworm]
#
# Check first, then act: an existing image with the tag is kept unless --force.
set -euo pipefail

TAG="dl-env/debian-base:bookworm"
SUITE="bookworm"
PYTHON_VERSION="3.11" # Debian 12's python3; recorded as a label so builds pick the right lock
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DRY_RUN=0
FORCE=0

die() { echo "ERROR: $*" >&2; exit 1; }
info() { echo "==> $*" >&2; }
command_exists() { command -v "$1" >/dev/null 2>&1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --force) FORCE=1 ;;
    --tag) TAG="${2:?--tag needs a value}"; shift ;;
    --suite) SUITE="${2:?--suite needs a value}"; shift ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
if [[ "$SUITE" != bookworm ]]; then
    PYTHON_VERSION="" # unknown for other suites: builds must then be told with --python
fi

# Every command that changes something goes through run: in dry-run it is only printed.
run() {
    if [[ "$DRY_RUN" == 1 ]]; then
        echo "+ $*"
    else
        "$@"
    fi
}

command_exists docker || die "docker not found: install Docker first (invoke host.setup --only engine)"
docker info >/dev/null 2>&1 || die "Docker daemon not reachable: start it (sudo systemctl start docker)"
if [[ "$FORCE" == 0 ]] && docker image inspect "$TAG" >/dev/null 2>&1; then
    info "$TAG already exists; nothing to do (--force rebuilds it)"
    exit 0
fi
command_exists debootstrap || die "debootstrap not found: apt-get install debootstrap"
[[ "$(id -u)" == 0 ]] || die "debootstrap needs root: re-run with sudo"

rootfs="$(mktemp -d "${TMPDIR:-/tmp}/dl-env-rootfs.XXXXXX")"
trap 'rm -rf "$rootfs"' EXIT

info "debootstrap $SUITE (minbase) from $MIRROR"
run debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR"
run rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*

info "importing as $TAG"
changes=(
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    --change "ENV LANG=C.UTF-8"
    --change "CMD [\"bash\"]"
    --change "LABEL org.opencontainers.image.title=debian-$SUITE-minbase"
    --change "LABEL io.dl-env.bootstrap=debootstrap"
)
if [[ -n "$PYTHON_VERSION" ]]; then
    changes+=(--change "LABEL io.dl-env.python=$PYTHON_VERSION")
fi
if [[ "$DRY_RUN" == 1 ]]; then
    echo "+ tar -C $rootfs -c . | docker import ${changes[*]} - $TAG"
else
    tar -C "$rootfs" -c . | docker import "${changes[@]}" - "$TAG" >/dev/null
    info "done: $TAG ($(docker image inspect --format '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
fi
