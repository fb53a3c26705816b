#!/usr/bin/env bash
# Step 1, preflight: look at the host and refuse what cannot work. Changes nothing.
#   scripts/host/preflight.sh [--dry-run] [--engine docker|podman]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/steps.sh
. "$HERE/lib/steps.sh"

usage() {
	sed -n '2,3s/^# \{0,1\}//p' "$0"
}

parse_step_args "$@"
load_host
check_engine

info "distribution: ${DISTRO_NAME:-$DISTRO_ID $DISTRO_VERSION_ID} (family $DISTRO_FAMILY $DISTRO_VERSION${DISTRO_CODENAME:+, $DISTRO_CODENAME})"
info "architecture: $(host_arch)"
info "package manager: $(package_manager)$([ "$(package_manager)" = dnf ] && echo " ($(dnf_generation))")"
info "engine: $ENGINE"
if is_wsl; then
	info "WSL: yes (the GPU driver comes from the Windows host; skip the driver step)"
fi
if has_nvidia_gpu; then
	if is_wsl; then
		info "GPU: exposed by the Windows driver (/usr/lib/wsl/lib/nvidia-smi)"
	else
		nvidia_gpus | while read -r slot id name; do
			info "GPU: $slot [10de:$id] $name"
		done
		info "kernel module: $(gpu_kernel_module_flavor) (open for Turing and newer, proprietary before)"
	fi
else
	info "GPU: none found (no PCI device with vendor 10de and class 03xx): the driver, toolkit and runtime steps cannot apply"
fi
driver_version=$(nvidia_driver_version)
info "NVIDIA driver loaded: ${driver_version:-no}"
sb=$(secure_boot_state)
info "Secure Boot: $sb"
if nouveau_loaded; then
	warn "nouveau is loaded: the driver step blacklists it; it is gone after the reboot"
fi
reason=$(reboot_pending_reason)
if [ -n "$reason" ]; then
	warn "a reboot is pending ($reason): reboot before the driver step"
fi
for engine in docker podman; do
	version=$(engine_version "$engine")
	[ -n "$version" ] && info "$engine installed: $version"
done
ok "host can be set up"
