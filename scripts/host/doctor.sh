#!/usr/bin/env bash
# dl-env host doctor: diagnose a GPU container host without changing it.
# Standalone (bash and coreutils; no Python packages). `invoke host.doctor` wraps this script.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/host/lib/common.sh
. "$HERE/lib/common.sh"
# shellcheck source=scripts/host/lib/detect.sh
. "$HERE/lib/detect.sh"
# shellcheck source=scripts/host/lib/doctor_checks.sh
. "$HERE/lib/doctor_checks.sh"

usage() {
	cat <<'EOF'
Usage: scripts/host/doctor.sh [--engine docker|podman] [--json] [--probe]

Diagnose a GPU container host: NVIDIA driver, container toolkit, CDI specs and the container
engine. Read-only: it runs no sudo, writes no file and changes no engine state.

  --engine docker|podman  the engine to check (default: docker if installed, else podman)
  --json                  print {"ok": bool, "checks": [{"name", "status", "detail", "fix"}]}
  --probe                 also start a GPU container (nvidia-smi -L) with the engine and report
                          what it saw; the image is $DLENV_PROBE_IMAGE (default ubuntu:24.04),
                          which must already be present (nothing is pulled)

Each check prints one line with its status:
  ok    works
  warn  works now, but a known failure is waiting (e.g. GPUs lost at the next daemon-reload)
  fail  broken now: containers cannot use the GPU until the fix is applied
  skip  cannot apply to this host (no NVIDIA GPU, another engine, not WSL2, ...)
Every warn and fail names its cause and the exact fix command.

Exit status: 0 when no check fails, 1 when one does, 2 on a usage error.
A host with no NVIDIA GPU exits 0 when its engine is healthy: the gpu check says "skip: no
NVIDIA GPU ... this host cannot run GPU containers" and the GPU checks are skipped, because
nothing on the host is broken. To require a GPU, check that the "gpu" status is "ok" in --json.
EOF
}

RESULT_NAMES=()
RESULT_STATUSES=()
RESULT_DETAILS=()
RESULT_FIXES=()

report() { # report NAME STATUS DETAIL [FIX]
	RESULT_NAMES+=("$1")
	RESULT_STATUSES+=("$2")
	RESULT_DETAILS+=("$3")
	RESULT_FIXES+=("${4:-}")
}

json_string() {
	local s
	s=$(printf '%s' "$1" | LC_ALL=C tr -d '\000-\010\013\014\016-\037')
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\t'/\\t}
	s=${s//$'\r'/\\r}
	printf '"%s"' "$s"
}

any_failed() {
	local status
	for status in "${RESULT_STATUSES[@]}"; do
		[ "$status" = fail ] && return 0
	done
	return 1
}

print_json() {
	local i sep=""
	printf '{"ok": %s, "engine": %s, "checks": [' "$(any_failed && echo false || echo true)" "$(json_string "$ENGINE")"
	for i in "${!RESULT_NAMES[@]}"; do
		printf '%s\n  {"name": %s, "status": %s, "detail": %s, "fix": %s}' "$sep" \
			"$(json_string "${RESULT_NAMES[$i]}")" "$(json_string "${RESULT_STATUSES[$i]}")" \
			"$(json_string "${RESULT_DETAILS[$i]}")" "$(json_string "${RESULT_FIXES[$i]}")"
		sep=","
	done
	printf '\n]}\n'
}

print_text() {
	local i counts="" status n
	printf 'dl-env host doctor (engine: %s)\n' "$ENGINE"
	for i in "${!RESULT_NAMES[@]}"; do
		printf '%-5s %-17s %s\n' "${RESULT_STATUSES[$i]}" "${RESULT_NAMES[$i]}" "${RESULT_DETAILS[$i]}"
		case ${RESULT_STATUSES[$i]} in
		warn | fail) printf '%-23s fix: %s\n' "" "${RESULT_FIXES[$i]}" ;;
		esac
	done
	for status in fail warn ok skip; do
		n=$(printf '%s\n' "${RESULT_STATUSES[@]}" | grep -cx "$status")
		counts="${counts:+$counts, }$n $status"
	done
	if any_failed; then
		printf '\n%s: NOT READY, apply the fixes above in order and run the doctor again\n' "$counts"
	elif [ "$HAS_GPU" != yes ]; then
		printf '\n%s: no failures, but no NVIDIA GPU: this host cannot run GPU containers\n' "$counts"
	else
		printf '\n%s: ready for GPU containers\n' "$counts"
	fi
}

default_engine() {
	if command_exists docker || ! command_exists podman; then echo docker; else echo podman; fi
}

ENGINE=""
JSON=no
PROBE=no
while [ $# -gt 0 ]; do
	case $1 in
	--engine)
		[ $# -ge 2 ] || {
			echo "ERROR: --engine needs a value: docker or podman" >&2
			exit 2
		}
		ENGINE=$2
		shift
		;;
	--engine=*) ENGINE=${1#--engine=} ;;
	--json) JSON=yes ;;
	--probe) PROBE=yes ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "ERROR: unknown argument '$1' (see --help)" >&2
		exit 2
		;;
	esac
	shift
done
[ -n "$ENGINE" ] || ENGINE=$(default_engine)
case $ENGINE in
docker | podman) ;;
*)
	echo "ERROR: unknown engine '$ENGINE': use --engine docker or --engine podman" >&2
	exit 2
	;;
esac

gather_gpu_facts
gather_driver_facts
gather_toolkit_facts
if [ "$ENGINE" = docker ]; then gather_docker_facts; else gather_podman_facts; fi

check_platform
check_wsl
check_gpu
check_nouveau
check_secure_boot
check_driver_module
check_driver_userspace
check_driver_versions
check_cuda_support
check_device_nodes
check_selinux
check_apt_sources
check_toolkit
check_engine
check_docker_context
check_rootless
check_docker_gpus
check_docker_runtime
check_podman_cdi
check_oci_hook
check_cdi_spec
check_cdi_schema
check_cdi_driver
check_daemon_reload
[ "$PROBE" = yes ] && run_probe

if [ "$JSON" = yes ]; then print_json; else print_text; fi
any_failed && exit 1
exit 0
