# shellcheck shell=bash
# Host detection for scripts/host/*.sh and scripts/host/doctor.sh. Source it; it only defines
# functions and reads nothing until one is called. Every host file is read through the root
# prefix $DLENV_ROOT (default empty), so tests can point it at a fake root; commands (lspci,
# mokutil, dpkg-query, rpm, docker, podman, uname, id) come from PATH, so tests stub them.
# Value functions always return 0 (safe under `set -e` in `x=$(f)`); predicates return 0/1.
#
#   os_release_value KEY        value of KEY in /etc/os-release (or /usr/lib/os-release), unquoted
#   detect_distro               sets DISTRO_ID DISTRO_VERSION_ID DISTRO_ID_LIKE DISTRO_NAME and the
#                               upstream we target: DISTRO_FAMILY (debian|ubuntu|fedora|rhel|suse|
#                               unknown), DISTRO_VERSION (family version: 22.04, 12, 42, 9, 15.6)
#                               and DISTRO_CODENAME (apt suite: jammy, bookworm; empty elsewhere).
#                               Derivatives (Mint, Pop!_OS, LMDE, Alma, Nobara…) map via ID_LIKE.
#   distro_support_problem      after detect_distro: empty if supported, else why not (one line)
#   host_arch                   `uname -m` (x86_64, aarch64, …)
#   deb_arch                    dpkg architecture name for host_arch (amd64, arm64)
#   is_wsl                      true inside WSL (/proc/version or osrelease mentions Microsoft)
#   nvidia_gpus                 one line per NVIDIA display device (vendor 10de, class 03xx):
#                               "<pci-slot> <device-id> <name>"; `lspci -nn`, else /sys/bus/pci
#   has_nvidia_gpu              true when nvidia_gpus prints anything, or inside WSL when the
#                               Windows driver is exposed (/usr/lib/wsl/lib/nvidia-smi)
#   gpu_kernel_module_flavor    open | proprietary | none: open when every GPU is Turing or newer
#                               (device id >= 0x1e00); $NVIDIA_KERNEL_MODULE=open|proprietary wins
#   secure_boot_state           enabled | disabled | unsupported (`mokutil --sb-state`, else efivars)
#   nouveau_loaded              true when the nouveau module is loaded (/proc/modules)
#   nvidia_driver_version       version of the loaded NVIDIA kernel module, empty if none
#                               (/proc/driver/nvidia/version)
#   reboot_pending_reason       why a reboot is pending, empty if none (/var/run/reboot-required,
#                               or `needs-restarting -r` on RPM distros)
#   package_manager             apt | dnf | zypper for the detected family (call detect_distro first)
#   dnf_generation              dnf5 | dnf4 (dnf5 when the dnf5 command exists: Fedora 41+)
#   package_version NAME        installed version of package NAME (apt/rpm), empty if not installed
#   package_installed NAME      true when package NAME is installed
#   engine_version ENGINE       docker | podman client version (X.Y.Z), empty if not installed
#   version_gte A B             true when version A >= B (sort -V)

os_release_value() {
	local file
	file=$(host_path /etc/os-release)
	[ -r "$file" ] || file=$(host_path /usr/lib/os-release)
	[ -r "$file" ] || return 0
	sed -n "s/^$1=//p" "$file" | head -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/" || true
}

_ubuntu_version_for_codename() {
	case $1 in
	jammy) echo 22.04 ;;
	noble) echo 24.04 ;;
	focal) echo 20.04 ;;
	esac
}

_debian_version_for_codename() {
	case $1 in
	bookworm) echo 12 ;;
	trixie) echo 13 ;;
	bullseye) echo 11 ;;
	esac
}

_like() {
	case " $DISTRO_ID_LIKE " in *" $1 "*) return 0 ;; esac
	return 1
}

detect_distro() {
	DISTRO_ID=$(os_release_value ID | tr '[:upper:]' '[:lower:]')
	DISTRO_VERSION_ID=$(os_release_value VERSION_ID)
	DISTRO_ID_LIKE=$(os_release_value ID_LIKE | tr '[:upper:]' '[:lower:]')
	DISTRO_NAME=$(os_release_value PRETTY_NAME)
	DISTRO_FAMILY=unknown
	DISTRO_VERSION=
	DISTRO_CODENAME=
	local ubuntu_codename debian_codename
	ubuntu_codename=$(os_release_value UBUNTU_CODENAME)
	debian_codename=$(os_release_value DEBIAN_CODENAME)
	case $DISTRO_ID in
	ubuntu)
		DISTRO_FAMILY=ubuntu
		DISTRO_VERSION=$DISTRO_VERSION_ID
		DISTRO_CODENAME=${ubuntu_codename:-$(os_release_value VERSION_CODENAME)}
		;;
	debian | raspbian)
		DISTRO_FAMILY=debian
		DISTRO_VERSION=${DISTRO_VERSION_ID%%.*}
		DISTRO_CODENAME=$(os_release_value VERSION_CODENAME)
		;;
	fedora | fedora-asahi-remix)
		DISTRO_FAMILY=fedora
		DISTRO_VERSION=$DISTRO_VERSION_ID
		;;
	rhel | rocky | almalinux | centos)
		DISTRO_FAMILY=rhel
		DISTRO_VERSION=${DISTRO_VERSION_ID%%.*}
		;;
	opensuse-leap | sles | sled)
		DISTRO_FAMILY=suse
		DISTRO_VERSION=$DISTRO_VERSION_ID
		;;
	*)
		if _like ubuntu && [ -n "$ubuntu_codename" ]; then
			DISTRO_FAMILY=ubuntu
			DISTRO_CODENAME=$ubuntu_codename
			DISTRO_VERSION=$(_ubuntu_version_for_codename "$ubuntu_codename")
		elif _like debian; then
			DISTRO_FAMILY=debian
			DISTRO_CODENAME=${debian_codename:-$(os_release_value VERSION_CODENAME)}
			DISTRO_VERSION=$(_debian_version_for_codename "$DISTRO_CODENAME")
		elif _like rhel || _like centos; then
			DISTRO_FAMILY=rhel
			DISTRO_VERSION=${DISTRO_VERSION_ID%%.*}
		elif _like fedora; then
			DISTRO_FAMILY=fedora
			DISTRO_VERSION=$DISTRO_VERSION_ID
		elif _like suse; then
			DISTRO_FAMILY=suse
			DISTRO_VERSION=$DISTRO_VERSION_ID
		fi
		;;
	esac
}

distro_support_problem() {
	local shown=${DISTRO_NAME:-${DISTRO_ID:-unknown} ${DISTRO_VERSION_ID}}
	case "$DISTRO_FAMILY:$DISTRO_VERSION" in
	ubuntu:22.04 | ubuntu:24.04 | debian:12 | fedora:40 | fedora:41 | fedora:42 | rhel:9 | suse:15.6) ;;
	unknown:*)
		if [ -z "$DISTRO_ID" ]; then
			echo "cannot read /etc/os-release: unsupported or non-Linux host"
		else
			echo "unsupported distribution '$DISTRO_ID' ($shown): supported are Ubuntu 22.04/24.04, Debian 12, Fedora 40-42, RHEL/Rocky/Alma 9, openSUSE Leap 15.6 and their derivatives"
		fi
		;;
	*)
		echo "unsupported $DISTRO_FAMILY version '${DISTRO_VERSION:-$DISTRO_VERSION_ID}' ($shown): supported are Ubuntu 22.04/24.04, Debian 12, Fedora 40-42, RHEL/Rocky/Alma 9, openSUSE Leap 15.6"
		;;
	esac
}

host_arch() {
	uname -m
}

deb_arch() {
	case $(host_arch) in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	*) host_arch ;;
	esac
}

is_wsl() {
	local file
	for file in /proc/version /proc/sys/kernel/osrelease; do
		file=$(host_path "$file")
		[ -r "$file" ] && grep -qi microsoft "$file" && return 0
	done
	return 1
}

nvidia_gpus() {
	if command_exists lspci; then
		{ lspci -nn 2>/dev/null || true; } | sed -n 's/^\([^ ]*\) .*\[03[0-9a-f][0-9a-f]\]: \(.*\) \[10de:\([0-9a-f]\{4\}\)\].*/\1 \3 \2/p'
		return 0
	fi
	local dev vendor class device
	for dev in "$(host_path /sys/bus/pci/devices)"/*; do
		[ -r "$dev/vendor" ] || continue
		vendor=$(cat "$dev/vendor")
		class=$(cat "$dev/class")
		[ "$vendor" = 0x10de ] || continue
		case $class in 0x03*) ;; *) continue ;; esac
		device=$(cat "$dev/device")
		echo "${dev##*/} ${device#0x} NVIDIA device"
	done
}

has_nvidia_gpu() {
	if is_wsl; then
		[ -e "$(host_path /usr/lib/wsl/lib/nvidia-smi)" ]
		return
	fi
	[ -n "$(nvidia_gpus)" ]
}

gpu_kernel_module_flavor() {
	case ${NVIDIA_KERNEL_MODULE:-} in
	open | proprietary)
		echo "$NVIDIA_KERNEL_MODULE"
		return 0
		;;
	esac
	local ids id flavor=none
	ids=$(nvidia_gpus | awk '{print $2}')
	for id in $ids; do
		if [ $((16#$id)) -lt $((16#1e00)) ]; then
			echo proprietary
			return 0
		fi
		flavor=open
	done
	echo "$flavor"
}

secure_boot_state() {
	local out var
	if command_exists mokutil; then
		out=$(mokutil --sb-state 2>&1 || true)
		case $out in
		*"SecureBoot enabled"*)
			echo enabled
			return 0
			;;
		*"SecureBoot disabled"*)
			echo disabled
			return 0
			;;
		*"not supported"*)
			echo unsupported
			return 0
			;;
		esac
	fi
	[ -d "$(host_path /sys/firmware/efi)" ] || {
		echo unsupported
		return 0
	}
	var=$(host_path /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c)
	# efivars: 4 attribute bytes, then the value byte.
	if [ -r "$var" ] && [ "$(od -An -t u1 -j 4 -N 1 "$var" | tr -d ' ')" = 1 ]; then
		echo enabled
	else
		echo disabled
	fi
}

nouveau_loaded() {
	local modules
	modules=$(host_path /proc/modules)
	[ -r "$modules" ] && grep -q '^nouveau ' "$modules"
}

nvidia_driver_version() {
	local file
	file=$(host_path /proc/driver/nvidia/version)
	[ -r "$file" ] || return 0
	grep -m 1 '^NVRM' "$file" | grep -oE '[0-9]{3}\.[0-9]+(\.[0-9]+)?' | head -n 1 || true
}

reboot_pending_reason() {
	if [ -e "$(host_path /var/run/reboot-required)" ]; then
		local pkgs
		pkgs=$(tr '\n' ' ' <"$(host_path /var/run/reboot-required.pkgs)" 2>/dev/null || true)
		echo "/var/run/reboot-required exists${pkgs:+ (${pkgs% })}"
	elif command_exists needs-restarting && ! needs-restarting -r >/dev/null 2>&1; then
		echo "needs-restarting -r: core libraries or the kernel were updated"
	fi
}

package_manager() {
	case $DISTRO_FAMILY in
	debian | ubuntu) echo apt ;;
	fedora | rhel) echo dnf ;;
	suse) echo zypper ;;
	*) echo unknown ;;
	esac
}

dnf_generation() {
	if command_exists dnf5; then echo dnf5; else echo dnf4; fi
}

package_version() {
	case $(package_manager) in
	apt)
		command_exists dpkg-query || return 0
		{ dpkg-query -W -f='${db:Status-Abbrev}|${Version}\n' "$1" 2>/dev/null || true; } |
			sed -n 's/^ii *|//p' | head -n 1
		;;
	dnf | zypper)
		command_exists rpm || return 0
		{ rpm -q --qf '%{VERSION}-%{RELEASE}\n' "$1" 2>/dev/null || true; } | grep -v 'not installed' | head -n 1 || true
		;;
	esac
}

package_installed() {
	[ -n "$(package_version "$1")" ]
}

engine_version() {
	command_exists "$1" || return 0
	{ "$1" --version 2>/dev/null || true; } | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1 || true
}

version_gte() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$2" ]
}
