#!/usr/bin/env bash
# Step 4, engine: install Docker CE (Docker's repository, key fingerprint checked, buildx and
# compose plugins, service enabled, user in the docker group) or Podman from the distribution.
#   scripts/host/engine.sh [--dry-run] [--engine docker|podman] [--user NAME]
# --user (default: $SUDO_USER) is the account added to the docker group.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/steps.sh
. "$HERE/lib/steps.sh"

usage() {
	sed -n '2,5s/^# \{0,1\}//p' "$0"
}

DOCKER_URL=https://download.docker.com/linux
DOCKER_PACKAGES=(docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin)

# Packages that clash with Docker CE, as listed in Docker's install pages.
docker_conflicts() {
	case $DISTRO_FAMILY in
	debian | ubuntu) echo docker.io docker-doc docker-compose docker-compose-v2 podman-docker containerd runc ;;
	fedora) echo docker docker-client docker-client-latest docker-common docker-latest docker-latest-logrotate docker-logrotate docker-selinux docker-engine-selinux docker-engine ;;
	rhel) echo docker docker-client docker-client-latest docker-common docker-latest docker-latest-logrotate docker-logrotate docker-engine podman runc ;;
	esac
}

docker_repo_apt() {
	local keyring=/etc/apt/keyrings/docker.asc
	install_packages ca-certificates curl gnupg
	fetch_key "$DOCKER_URL/$DISTRO_FAMILY/gpg" "$keyring" "$DOCKER_KEY_FINGERPRINT"
	add_apt_source docker.list <<LIST
deb [arch=$(deb_arch) signed-by=$keyring] $DOCKER_URL/$DISTRO_FAMILY $DISTRO_CODENAME stable
LIST
}

docker_repo_dnf() {
	local key=/etc/pki/rpm-gpg/docker-ce.asc repo_url
	# Docker documents RHEL's repository for RHEL and its rebuilds.
	repo_url="$DOCKER_URL/$DISTRO_FAMILY/docker-ce.repo"
	fetch_key "$DOCKER_URL/$DISTRO_FAMILY/gpg" "$key" "$DOCKER_KEY_FINGERPRINT"
	# rpm names an imported key gpg-pubkey-<last 8 hex digits of its id>.
	if package_installed gpg-pubkey-621e9f35; then
		ok "Docker's key is in the rpm keyring"
	else
		sh_c "rpm --import $key"
	fi
	if [ -e "$(host_path /etc/yum.repos.d/docker-ce.repo)" ]; then
		ok "Docker CE repository is set up"
		return 0
	fi
	install_packages dnf-plugins-core
	if [ "$(dnf_generation)" = dnf5 ]; then
		sh_c "dnf config-manager addrepo --from-repofile=$repo_url"
	else
		sh_c "dnf config-manager --add-repo $repo_url"
	fi
}

install_docker() {
	local pkg complete=1
	for pkg in "${DOCKER_PACKAGES[@]}"; do
		package_installed "$pkg" || complete=0
	done
	if [ "$complete" = 1 ]; then
		ok "Docker CE $(package_version docker-ce) is installed with the buildx and compose plugins"
	else
		local conflict present=()
		for conflict in $(docker_conflicts); do
			package_installed "$conflict" && present+=("$conflict")
		done
		if [ ${#present[@]} -gt 0 ]; then
			warn "Docker CE replaces ${present[*]} (they conflict); images and volumes in /var/lib/docker stay. To keep them instead, leave this step out (--skip engine)"
			remove_installed "${present[@]}"
		fi
		case $(package_manager) in
		apt) docker_repo_apt ;;
		dnf) docker_repo_dnf ;;
		esac
		install_packages "${DOCKER_PACKAGES[@]}"
	fi
	enable_docker_service
	add_docker_group_member
}

systemd_running() {
	command_exists systemctl && [ -d "$(host_path /run/systemd/system)" ]
}

enable_docker_service() {
	if ! systemd_running; then
		warn "systemd is not running here: start dockerd yourself (the service cannot be enabled)"
		return 0
	fi
	if systemctl is-enabled --quiet docker.service 2>/dev/null && systemctl is-active --quiet docker.service 2>/dev/null; then
		ok "docker.service is enabled and running"
	else
		sh_c "systemctl enable --now docker.service containerd.service"
	fi
}

add_docker_group_member() {
	if [ -z "$TARGET_USER" ] || [ "$TARGET_USER" = root ]; then
		info "no user to add to the docker group (run through sudo, or pass --user NAME)"
		return 0
	fi
	case " $(id -nG "$TARGET_USER" 2>/dev/null) " in
	*" docker "*)
		ok "$TARGET_USER is in the docker group"
		return 0
		;;
	esac
	sh_c "usermod -aG docker $TARGET_USER"
	warn "the docker group is equivalent to root on this host; $TARGET_USER gets it after logging out and back in (or: newgrp docker)"
}

install_podman() {
	install_packages podman
	local version
	version=$(engine_version podman)
	if [ -n "$version" ] && ! version_gte "$version" "$PODMAN_MIN_CDI_VERSION"; then
		die "podman $version is too old for CDI GPU access (needs >= $PODMAN_MIN_CDI_VERSION): use --engine docker"
	fi
	[ -n "$version" ] && ok "podman $version supports CDI"
	return 0
}

parse_step_args "$@"
load_host
check_engine

case $ENGINE in
docker) install_docker ;;
podman) install_podman ;;
esac
