# shellcheck shell=bash
# shellcheck disable=SC2034 # the globals set here are read by the step scripts
# Pieces shared by the step scripts (preflight, driver, toolkit, engine, runtime, verify).
# Sourcing this file also sources common.sh and detect.sh, which it builds on.
#
#   parse_step_args ARGS    --dry-run --engine docker|podman --user NAME --rootless -h
#                           sets DLENV_DRY_RUN ENGINE TARGET_USER ROOTLESS
#   load_host               detect_distro and refuse an unsupported arch, distro or missing root
#   check_engine            refuse engine/distro pairs that cannot work (Docker CE on SUSE x86_64,
#                           Podman too old for CDI)
#   install_packages PKG…   install the packages that are missing (apt-get update first)
#   remove_installed PKG…   remove those of PKG… that are installed
#   add_apt_source FILE     write stdin to /etc/apt/sources.list.d/FILE; the next install
#                           refreshes the package lists when it changed
#   fetch_key URL DEST [FINGERPRINT]
#                           download a signing key to DEST unless present; with FINGERPRINT the
#                           key must carry it or nothing is installed
#   mok_enroll KEY          queue KEY (DER) for MOK enrollment unless enrolled; says what the
#                           blue MOK Manager screen will ask on the next boot
_steps_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$_steps_lib_dir/common.sh"
# shellcheck source=detect.sh
. "$_steps_lib_dir/detect.sh"


# Docker's release key, as published on docs.docker.com.
DOCKER_KEY_FINGERPRINT=060A61C51B558A7F742B77AAC52FEB6B621E9F35
# CDI through podman needs 4.1.0 (NVIDIA/nvidia-container-toolkit#63).
PODMAN_MIN_CDI_VERSION=4.1.0

parse_step_args() {
	ENGINE=${DLENV_ENGINE:-}
	TARGET_USER=${DLENV_USER:-${SUDO_USER:-}}
	ROOTLESS=0
	parse_common_args "$@"
	set -- "${REST_ARGS[@]+"${REST_ARGS[@]}"}"
	while [ $# -gt 0 ]; do
		case $1 in
		--engine)
			[ $# -ge 2 ] || die "--engine needs a value: docker or podman"
			ENGINE=$2
			shift
			;;
		--engine=*) ENGINE=${1#--engine=} ;;
		--user)
			[ $# -ge 2 ] || die "--user needs a user name"
			TARGET_USER=$2
			shift
			;;
		--rootless) ROOTLESS=1 ;;
		*) die "unknown option '$1' (see $0 --help)" ;;
		esac
		shift
	done
}

_default_engine() {
	if command_exists docker; then
		echo docker
	elif command_exists podman; then
		echo podman
	elif [ "$DISTRO_FAMILY" = suse ]; then
		echo podman
	else
		echo docker
	fi
}

load_host() {
	local arch problem
	arch=$(host_arch)
	[ "$arch" = x86_64 ] ||
		die "unsupported architecture '$arch': the NVIDIA driver, toolkit and Docker repos set up here are for x86_64"
	detect_distro
	problem=$(distro_support_problem)
	[ -z "$problem" ] || die "$problem"
	require_privileges
	ENGINE=${ENGINE:-$(_default_engine)}
	case $ENGINE in
	docker | podman) ;;
	*) die "unknown engine '$ENGINE': use --engine docker or --engine podman" ;;
	esac
}

check_engine() {
	if [ "$ENGINE" = docker ] && [ "$DISTRO_FAMILY" = suse ] && ! command_exists docker; then
		die "Docker CE publishes no packages for openSUSE/SLES on x86_64: use --engine podman, or install the distribution's package (zypper install docker) and re-run"
	fi
	if [ "$ENGINE" = podman ]; then
		local version
		version=$(engine_version podman)
		if [ -z "$version" ] && [ "$DISTRO_FAMILY:$DISTRO_VERSION" = ubuntu:22.04 ]; then
			version="3.4.4 (Ubuntu 22.04's package)"
		fi
		if [ -n "$version" ] && ! version_gte "${version%% *}" "$PODMAN_MIN_CDI_VERSION"; then
			die "podman $version is too old for CDI GPU access (needs >= $PODMAN_MIN_CDI_VERSION): use --engine docker, or a newer distribution (Ubuntu 24.04 ships 4.9)"
		fi
	fi
}

_APT_UPDATED=0

_apt_update() {
	[ "$_APT_UPDATED" = 1 ] && return 0
	sh_c "apt-get update"
	_APT_UPDATED=1
}

install_packages() {
	local pkg missing=()
	for pkg in "$@"; do
		package_installed "${pkg%%=*}" || missing+=("$pkg")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		ok "installed: $*"
		return 0
	fi
	case $(package_manager) in
	apt)
		_apt_update
		sh_c "DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
		;;
	dnf) sh_c "dnf install -y ${missing[*]}" ;;
	zypper) sh_c "zypper --non-interactive install -y ${missing[*]}" ;;
	esac
}

add_apt_source() {
	local path=/etc/apt/sources.list.d/$1 content
	content=$(cat)
	if [ "$(cat "$(host_path "$path")" 2>/dev/null || true)" != "$content" ]; then
		_APT_UPDATED=0
	fi
	printf '%s\n' "$content" | write_file "$path" 0644
}

remove_installed() {
	local pkg present=()
	for pkg in "$@"; do
		package_installed "$pkg" && present+=("$pkg")
	done
	[ ${#present[@]} -eq 0 ] && return 0
	case $(package_manager) in
	apt) sh_c "DEBIAN_FRONTEND=noninteractive apt-get remove -y ${present[*]}" ;;
	dnf) sh_c "dnf remove -y ${present[*]}" ;;
	zypper) sh_c "zypper --non-interactive remove -y ${present[*]}" ;;
	esac
}

_key_fingerprints() {
	gpg --show-keys --with-colons "$1" 2>/dev/null | awk -F: '$1 == "fpr" {print $10}'
}

fetch_key() {
	local url=$1 dest=$2 fingerprint=${3:-}
	if [ -s "$(host_path "$dest")" ]; then
		if [ -z "$fingerprint" ] || _key_fingerprints "$(host_path "$dest")" | grep -qx "$fingerprint"; then
			ok "signing key $dest is present${fingerprint:+ (fingerprint $fingerprint)}"
			return 0
		fi
		warn "$dest does not carry fingerprint $fingerprint: fetching it again"
	fi
	ensure_dir "${dest%/*}" 0755
	sh_c "curl -fsSL $url -o $dest.download"
	if [ -n "$fingerprint" ]; then
		if is_dry_run; then
			info "the key must carry fingerprint $fingerprint, or the step stops here"
		elif _key_fingerprints "$(host_path "$dest.download")" | grep -qx "$fingerprint"; then
			ok "key fingerprint $fingerprint verified"
		else
			remove_file "$dest.download"
			die "the key from $url does not carry fingerprint $fingerprint: refusing to trust it (check your network or proxy)"
		fi
	fi
	install_file "$dest.download" "$dest" 0644
	remove_file "$dest.download"
}

mok_enroll() {
	local key=$1 state
	state=$(mokutil --test-key "$(host_path "$key")" 2>&1 || true)
	case $state in
	*"already enrolled"*)
		ok "signing key $key is enrolled in MOK"
		return 0
		;;
	*"enrollment request"*)
		ok "signing key $key is queued for MOK enrollment"
		;;
	*)
		info "mokutil asks for a one-time password now; you type it again on the next boot"
		sh_c "mokutil --import $key"
		;;
	esac
	reboot_needed "Secure Boot: on the next boot the blue 'Perform MOK management' screen appears (press a key within 10 seconds). Choose 'Enroll MOK', then 'Continue', then 'Yes', type the one-time password you gave mokutil, then choose 'Reboot'. If you miss the screen, run this step again."
}
