#!/usr/bin/env bash
# Step 3, toolkit: install the NVIDIA Container Toolkit from NVIDIA's repository (key in a
# keyring, signed-by), all four packages pinned to one version.
#   scripts/host/toolkit.sh [--dry-run]
# Env: NVIDIA_CONTAINER_TOOLKIT_VERSION (default below; the packages' version-release).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/steps.sh
. "$HERE/lib/steps.sh"

usage() {
	sed -n '2,5s/^# \{0,1\}//p' "$0"
}

# 1.18 brought nvidia-cdi-refresh; 1.19.1+ writes CDI specs that podman < 5.1 rejects (FM-8).
VERSION=${NVIDIA_CONTAINER_TOOLKIT_VERSION:-1.18.0-1}
PACKAGES=(nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1)
REPO_URL=https://nvidia.github.io/libnvidia-container
KEYRING=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg

apt_repo() {
	local list
	install_packages ca-certificates curl gnupg
	if [ -s "$(host_path "$KEYRING")" ]; then
		ok "signing key $KEYRING is present"
	else
		sh_c "curl -fsSL $REPO_URL/gpgkey | gpg --dearmor --yes -o $KEYRING"
	fi
	# Older list files for the same repo without signed-by break apt (FM-17).
	for list in libnvidia-container.list nvidia-docker.list nvidia-container-runtime.list; do
		remove_file "/etc/apt/sources.list.d/$list"
	done
	add_apt_source nvidia-container-toolkit.list <<LIST
deb [signed-by=$KEYRING] $REPO_URL/stable/deb/$(deb_arch) /
LIST
}

rpm_repo() {
	local file=$1
	write_file "$file" 0644 <<REPO
[nvidia-container-toolkit]
name=nvidia-container-toolkit
baseurl=$REPO_URL/stable/rpm/\$basearch
repo_gpgcheck=1
gpgcheck=0
enabled=1
gpgkey=$REPO_URL/gpgkey
sslverify=1
REPO
}

parse_step_args "$@"
load_host

if ! has_nvidia_gpu; then
	skip "no NVIDIA GPU found (no PCI device with vendor 10de and class 03xx): the container toolkit would have no GPU to hand to containers"
	exit 0
fi

wanted=()
for pkg in "${PACKAGES[@]}"; do
	installed=$(package_version "$pkg")
	if [ "$installed" = "$VERSION" ]; then
		continue
	elif [ -n "$installed" ] && version_gte "$installed" "$VERSION"; then
		die "$pkg $installed is newer than the pinned $VERSION: set NVIDIA_CONTAINER_TOOLKIT_VERSION=$installed to keep it, or downgrade all four packages"
	fi
	wanted+=("$pkg")
done
if [ ${#wanted[@]} -eq 0 ]; then
	ok "NVIDIA Container Toolkit $VERSION is installed (all four packages)"
	exit 0
fi

case $(package_manager) in
apt)
	apt_repo
	pins=()
	for pkg in "${PACKAGES[@]}"; do pins+=("$pkg=$VERSION"); done
	_apt_update
	sh_c "DEBIAN_FRONTEND=noninteractive apt-get install -y ${pins[*]}"
	;;
dnf)
	rpm_repo /etc/yum.repos.d/nvidia-container-toolkit.repo
	pins=()
	for pkg in "${PACKAGES[@]}"; do pins+=("$pkg-$VERSION"); done
	sh_c "dnf install -y ${pins[*]}"
	;;
zypper)
	rpm_repo /etc/zypp/repos.d/nvidia-container-toolkit.repo
	pins=()
	for pkg in "${PACKAGES[@]}"; do pins+=("$pkg-$VERSION"); done
	sh_c "zypper --non-interactive --gpg-auto-import-keys install -y ${pins[*]}"
	;;
esac
