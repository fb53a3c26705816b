#!/usr/bin/env bash
# Step 6, verify: check that the engine answers, the driver is loaded, nvidia-smi works and a
# container sees the GPU; then run scripts/host/doctor.sh (when present) for a diagnosis.
# Changes nothing (it may pull the test image).
#   scripts/host/verify.sh [--dry-run] [--engine docker|podman]
# Env: DLENV_VERIFY_IMAGE (default ubuntu:24.04), the image that runs nvidia-smi;
#      DLENV_DOCTOR (default scripts/host/doctor.sh), the diagnosis run at the end.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/steps.sh
. "$HERE/lib/steps.sh"

usage() {
	sed -n '2,7s/^# \{0,1\}//p' "$0"
}

IMAGE=${DLENV_VERIFY_IMAGE:-ubuntu:24.04}
DOCTOR=${DLENV_DOCTOR:-$HERE/doctor.sh}
FAILED=()

# check NAME CMD: run the read-only CMD; record a failure with its output.
check() {
	local name=$1 cmd=$2 output status=0
	if is_dry_run; then
		printf 'check: %s\n' "$cmd"
		return 0
	fi
	output=$(sh -c "$cmd" 2>&1) || status=$?
	if [ "$status" -eq 0 ]; then
		ok "$name"
	else
		printf "FAIL: %s: '%s' exited %s\n" "$name" "$cmd" "$status"
		printf '%s\n' "$output" | tail -n 5 | sed 's/^/    /'
		FAILED+=("$name")
	fi
}

parse_step_args "$@"
load_host

case $ENGINE in
docker)
	check "docker answers" "docker info --format '{{.ServerVersion}}'"
	gpu_run="docker run --rm --runtime=nvidia --gpus all $IMAGE nvidia-smi"
	[ "$ROOTLESS" = 1 ] && gpu_run="docker run --rm --gpus all $IMAGE nvidia-smi"
	;;
podman)
	check "podman answers" "podman info --format '{{.Host.OCIRuntime.Name}}'"
	gpu_run="podman run --rm --security-opt=label=disable --device=nvidia.com/gpu=all $IMAGE nvidia-smi"
	;;
esac

if has_nvidia_gpu; then
	if is_dry_run; then
		is_wsl || printf 'check: %s\n' "cat /proc/driver/nvidia/version"
	elif ! is_wsl; then
		loaded=$(nvidia_driver_version)
		if [ -n "$loaded" ]; then
			ok "NVIDIA driver $loaded is loaded"
		else
			printf 'FAIL: NVIDIA driver loaded: /proc/driver/nvidia/version is missing (reboot after installing the driver)\n'
			FAILED+=("driver")
		fi
	fi
	check "nvidia-smi works on the host" "nvidia-smi"
	check "a $ENGINE container sees the GPU" "$gpu_run"
else
	skip "no NVIDIA GPU found (no PCI device with vendor 10de and class 03xx): driver, nvidia-smi and GPU container checks cannot apply"
fi

if [ -x "$DOCTOR" ]; then
	if is_dry_run; then
		printf 'check: %s\n' "scripts/host/doctor.sh --engine $ENGINE"
	else
		"$DOCTOR" --engine "$ENGINE" || FAILED+=("doctor")
	fi
fi

if [ ${#FAILED[@]} -gt 0 ]; then
	die "${#FAILED[@]} check(s) failed: ${FAILED[*]} (read the lines above; \`invoke host.doctor\` explains each problem)"
fi
is_dry_run || ok "host verified"
