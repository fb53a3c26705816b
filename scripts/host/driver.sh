#!/usr/bin/env bash
# Step 2, driver: install the NVIDIA driver from packages (open kernel module for Turing and
# newer), enroll a Secure Boot signing key when Secure Boot is on, blacklist nouveau.
#   scripts/host/driver.sh [--dry-run]
# Env: NVIDIA_KERNEL_MODULE=open|proprietary overrides the choice made from the GPU.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/steps.sh
. "$HERE/lib/steps.sh"

usage() {
	sed -n '2,5s/^# \{0,1\}//p' "$0"
}

CUDA_REPO_BASE=https://developer.download.nvidia.com/compute/cuda/repos
CUDA_KEYRING=/usr/share/keyrings/cuda-archive-keyring.gpg
DKMS_MOK=/var/lib/dkms/mok.pub
UBUNTU_MOK=/var/lib/shim-signed/mok/MOK.der
AKMODS_MOK=/etc/pki/akmods/certs/public_key.der

# The package that proves the driver is installed, per family and kernel module flavor.
driver_package() {
	case "$DISTRO_FAMILY:$FLAVOR" in
	debian:open | ubuntu:open | rhel:open) echo nvidia-open ;;
	debian:* | ubuntu:* | rhel:*) echo cuda-drivers ;;
	fedora:*) echo akmod-nvidia ;;
	suse:open) echo nvidia-open-driver-G06-signed-kmp-default ;;
	suse:*) echo nvidia-driver-G06-kmp-default ;;
	esac
}

cuda_repo_name() {
	case $DISTRO_FAMILY in
	ubuntu) echo "ubuntu${DISTRO_VERSION/./}" ;;
	debian) echo "debian$DISTRO_VERSION" ;;
	rhel) echo "rhel$DISTRO_VERSION" ;;
	esac
}

install_apt_driver() {
	local repo
	repo=$(cuda_repo_name)
	install_packages ca-certificates curl gnupg
	if [ ! -s "$(host_path "$CUDA_KEYRING")" ]; then
		sh_c "curl -fsSL $CUDA_REPO_BASE/$repo/x86_64/3bf863cc.pub | gpg --dearmor --yes -o $CUDA_KEYRING"
	else
		ok "signing key $CUDA_KEYRING is present"
	fi
	add_apt_source "cuda-$repo.list" <<LIST
deb [signed-by=$CUDA_KEYRING] $CUDA_REPO_BASE/$repo/x86_64/ /
LIST
	install_packages "linux-headers-$(uname -r)" dkms
	if [ "$SECURE_BOOT" = enabled ]; then
		if [ "$DISTRO_FAMILY" = ubuntu ]; then
			install_packages shim-signed mokutil
			[ -s "$(host_path "$UBUNTU_MOK")" ] || sh_c "update-secureboot-policy --new-key"
			mok_enroll "$UBUNTU_MOK"
		else
			install_packages mokutil
			[ -s "$(host_path "$DKMS_MOK")" ] || sh_c "dkms generate_mok"
			mok_enroll "$DKMS_MOK"
		fi
	fi
	install_packages "$(driver_package)"
}

install_fedora_driver() {
	local free nonfree
	free="https://mirrors.rpmfusion.org/free/fedora/rpmfusion-free-release-$DISTRO_VERSION.noarch.rpm"
	nonfree="https://mirrors.rpmfusion.org/nonfree/fedora/rpmfusion-nonfree-release-$DISTRO_VERSION.noarch.rpm"
	if package_installed rpmfusion-nonfree-release; then
		ok "RPM Fusion repositories are set up"
	else
		sh_c "dnf install -y $free $nonfree"
	fi
	info "RPM Fusion picks the open or proprietary module for this GPU itself (akmod-nvidia)"
	if [ "$SECURE_BOOT" = enabled ]; then
		install_packages kmodtool akmods mokutil openssl
		[ -s "$(host_path "$AKMODS_MOK")" ] || sh_c "kmodgenca -a"
		mok_enroll "$AKMODS_MOK"
	fi
	install_packages akmod-nvidia xorg-x11-drv-nvidia-cuda
	# Keep autoremove from taking the driver; dnf5 renamed `mark install` to `mark user`.
	if [ "$(dnf_generation)" = dnf5 ]; then
		sh_c "dnf mark user akmod-nvidia"
	else
		sh_c "dnf mark install akmod-nvidia"
	fi
}

install_rhel_driver() {
	local repo
	repo=$(cuda_repo_name)
	if [ "$DISTRO_ID" = rhel ]; then
		package_installed epel-release ||
			sh_c "dnf install -y https://dl.fedoraproject.org/pub/epel/epel-release-latest-$DISTRO_VERSION.noarch.rpm"
	else
		install_packages epel-release
	fi
	if [ -e "$(host_path "/etc/yum.repos.d/cuda-$repo.repo")" ]; then
		ok "CUDA repository cuda-$repo is set up"
	else
		install_packages dnf-plugins-core
		sh_c "dnf config-manager --add-repo $CUDA_REPO_BASE/$repo/x86_64/cuda-$repo.repo"
	fi
	install_packages "kernel-devel-$(uname -r)" "kernel-headers-$(uname -r)" dkms
	if [ "$SECURE_BOOT" = enabled ]; then
		install_packages mokutil
		[ -s "$(host_path "$DKMS_MOK")" ] || sh_c "dkms generate_mok"
		mok_enroll "$DKMS_MOK"
	fi
	install_packages "$(driver_package)"
}

install_suse_driver() {
	if [ -e "$(host_path /etc/zypp/repos.d/nvidia.repo)" ]; then
		ok "NVIDIA repository is set up"
	else
		sh_c "zypper --non-interactive addrepo --refresh https://download.nvidia.com/opensuse/leap/$DISTRO_VERSION nvidia"
	fi
	if [ "$FLAVOR" = open ]; then
		info "the open module package is signed by SUSE: no MOK enrollment is needed"
	elif [ "$SECURE_BOOT" = enabled ]; then
		info "Secure Boot: the package queues its key for MOK enrollment; on the next boot choose 'Enroll MOK', 'Continue', 'Yes' and type the root password"
	fi
	local missing=()
	package_installed "$(driver_package)" || missing+=("$(driver_package)")
	package_installed nvidia-compute-utils-G06 || missing+=(nvidia-compute-utils-G06)
	if [ ${#missing[@]} -gt 0 ]; then
		sh_c "zypper --non-interactive --gpg-auto-import-keys install -y ${missing[*]}"
	fi
}

blacklist_nouveau() {
	nouveau_loaded || return 0
	write_file /etc/modprobe.d/blacklist-nouveau.conf 0644 <<'CONF'
blacklist nouveau
options nouveau modeset=0
CONF
	case $DISTRO_FAMILY in
	debian | ubuntu) sh_c "update-initramfs -u" ;;
	*) sh_c "dracut -f" ;;
	esac
}

parse_step_args "$@"
load_host

if is_wsl; then
	die "refusing to install a Linux NVIDIA driver inside WSL: the driver comes from the Windows host (install or update it on Windows, then run with --skip driver)"
fi
if ! has_nvidia_gpu; then
	skip "no NVIDIA GPU found (no PCI device with vendor 10de and class 03xx): there is nothing for a driver to drive"
	exit 0
fi
loaded=$(nvidia_driver_version)
if [ -n "$loaded" ]; then
	ok "NVIDIA driver $loaded is loaded"
	exit 0
fi
FLAVOR=$(gpu_kernel_module_flavor)
SECURE_BOOT=$(secure_boot_state)
if package_installed "$(driver_package)"; then
	ok "driver package $(driver_package) is installed"
	reboot_needed "the NVIDIA driver is installed but not loaded: reboot, then re-run to continue"
	exit 0
fi
reason=$(reboot_pending_reason)
[ -z "$reason" ] || die "a reboot is pending ($reason): reboot first so the driver is built for the kernel you will run, then re-run"

info "kernel module: $FLAVOR; Secure Boot: $SECURE_BOOT"
case $DISTRO_FAMILY in
debian | ubuntu) install_apt_driver ;;
fedora) install_fedora_driver ;;
rhel) install_rhel_driver ;;
suse) install_suse_driver ;;
esac
blacklist_nouveau
reboot_needed "reboot to load the NVIDIA driver, then re-run to continue"
