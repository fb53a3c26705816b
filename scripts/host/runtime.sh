#!/usr/bin/env bash
# Step 5, runtime: connect the engine to the GPU. Docker: register the nvidia runtime in
# daemon.json (nvidia-ctk runtime configure) and restart dockerd. Podman: CDI, kept fresh by
# nvidia-cdi-refresh (toolkit >= 1.18) or generated once. SELinux: allow GPU device access.
#   scripts/host/runtime.sh [--dry-run] [--engine docker|podman] [--rootless]
# --rootless (docker): configure the calling user's rootless dockerd; run it as that user.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/steps.sh
. "$HERE/lib/steps.sh"

usage() {
	sed -n '2,6s/^# \{0,1\}//p' "$0"
}

CDI_REFRESH_ENV=/etc/nvidia-container-toolkit/nvidia-cdi-refresh.env
OLD_GIDS_FLAG=no-additional-gids-for-device-nodes

configure_docker() {
	local daemon_json=/etc/docker/daemon.json restart=0
	if grep -qs '"nvidia-container-runtime"' "$(host_path "$daemon_json")"; then
		ok "$daemon_json registers the nvidia runtime"
	else
		sh_c "nvidia-ctk runtime configure --runtime=docker"
		restart=1
	fi
	if [ "$restart" = 0 ]; then
		if docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"nvidia"'; then
			ok "dockerd has loaded the nvidia runtime"
			return 0
		fi
	fi
	sh_c "systemctl restart docker.service"
}

configure_rootless_docker() {
	local daemon_json="$HOME/.config/docker/daemon.json"
	[ "$(current_uid)" -ne 0 ] || die "--rootless configures your own rootless dockerd: run it as that user, not as root"
	if grep -qs '"nvidia-container-runtime"' "$daemon_json"; then
		ok "$daemon_json registers the nvidia runtime"
	else
		user_c "nvidia-ctk runtime configure --runtime=docker --config=$daemon_json"
		user_c "systemctl --user restart docker"
	fi
	# A rootless daemon cannot manage cgroups; the hook must not try.
	if grep -qs '^no-cgroups = true' "$(host_path /etc/nvidia-container-runtime/config.toml)"; then
		ok "nvidia-container-cli.no-cgroups is set"
	else
		sh_c "nvidia-ctk config --set nvidia-container-cli.no-cgroups --in-place"
	fi
}

unit_installed() {
	[ -e "$(host_path "/usr/lib/systemd/system/$1")" ] || [ -e "$(host_path "/lib/systemd/system/$1")" ]
}

configure_podman_cdi() {
	local podman toolkit
	podman=$(engine_version podman)
	toolkit=$(nvidia-ctk --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1 || true)
	# The OCI hook and CDI both injecting the GPU conflict (FM-20).
	remove_file /usr/share/containers/oci/hooks.d/oci-nvidia-hook.json
	# Toolkit >= 1.19.1 writes CDI 0.7 specs that podman < 5.1 cannot parse (FM-8).
	if [ -n "$toolkit" ] && version_gte "$toolkit" 1.19.1 && [ -n "$podman" ] && ! version_gte "$podman" 5.1.0; then
		write_file "$CDI_REFRESH_ENV" 0644 <<ENV
NVIDIA_CTK_CDI_GENERATE_FEATURE_FLAGS=$OLD_GIDS_FLAG
ENV
	fi
	if unit_installed nvidia-cdi-refresh.path || { is_dry_run && [ -z "$toolkit" ]; }; then
		if systemctl is-enabled --quiet nvidia-cdi-refresh.path 2>/dev/null; then
			ok "nvidia-cdi-refresh.path keeps the CDI spec current"
		else
			sh_c "systemctl enable --now nvidia-cdi-refresh.path nvidia-cdi-refresh.service"
		fi
		if [ -s "$(host_path /var/run/cdi/nvidia.yaml)" ]; then
			ok "CDI spec /var/run/cdi/nvidia.yaml exists"
		elif [ -z "$(nvidia_driver_version)" ] && ! is_wsl; then
			reboot_needed "no NVIDIA driver is loaded yet: nvidia-cdi-refresh writes the CDI spec on the next boot"
		else
			sh_c "systemctl restart nvidia-cdi-refresh.service"
		fi
	elif [ -s "$(host_path /etc/cdi/nvidia.yaml)" ]; then
		ok "CDI spec /etc/cdi/nvidia.yaml exists (regenerate it after a driver upgrade)"
	else
		sh_c "nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml"
	fi
}

allow_selinux_gpu_access() {
	command_exists getenforce || return 0
	[ "$(getenforce 2>/dev/null)" = Enforcing ] || return 0
	local boolean=container_use_xserver_devices value
	value=$(host_path "/sys/fs/selinux/booleans/$boolean")
	[ -e "$value" ] || boolean=container_use_devices
	value=$(host_path "/sys/fs/selinux/booleans/$boolean")
	if [ -r "$value" ] && [ "$(cut -d ' ' -f 1 "$value")" = 1 ]; then
		ok "SELinux boolean $boolean is on"
	else
		sh_c "setsebool -P $boolean on"
	fi
}

parse_step_args "$@"
load_host
check_engine

if ! has_nvidia_gpu; then
	skip "no NVIDIA GPU found (no PCI device with vendor 10de and class 03xx): there is no GPU runtime to configure"
	exit 0
fi
if ! command_exists nvidia-ctk && ! is_dry_run; then
	die "nvidia-ctk is not installed: run the toolkit step first (scripts/host/toolkit.sh)"
fi

case "$ENGINE:$ROOTLESS" in
docker:0) configure_docker ;;
docker:1) configure_rootless_docker ;;
podman:*) configure_podman_cdi ;;
esac
allow_selinux_gpu_access
